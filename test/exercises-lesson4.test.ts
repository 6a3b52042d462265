/** Lesson 4's checks: a right answer is right, the usual slips are wrong with a message that names them, todo is todo. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { causalSoftmax, exercises, Linear, Module, todo } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkScaledAffinities, checkHead, checkScaling } = exercises.lesson4;

const text = (v: exercises.Verdict) => v.lines.join("\n");

test("4.1 scaled affinities: right, unscaled, divided by headSize, transposed, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkScaledAffinities((q, k) => tf.matMul(q, k, false, true).mul(q.shape[2] ** -0.5));
  assert.equal(right.status, "right", text(right));
  const unscaled = checkScaledAffinities((q, k) => tf.matMul(q, k, false, true));
  assert.equal(unscaled.status, "wrong");
  assert.match(text(unscaled), /unscaled: 4 = √headSize times too large/);
  const divided = checkScaledAffinities((q, k) => tf.matMul(q, k, false, true).div(q.shape[2]));
  assert.match(text(divided), /divided by headSize; the scale is 1\/√headSize/);
  const transposed = checkScaledAffinities((q, k) => tf.matMul(k, q, false, true).mul(0.25));
  assert.equal(transposed.status, "wrong");
  assert.match(transposed.lines[0], /shape \(2, 7, 5\), expected \(2, 5, 7\)/);
  assert.equal(checkScaledAffinities(() => todo("scaled affinities")).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check disposes what it makes");
});

/** The parts of a head, as the lesson's exercise cell gives them; `attend` is the forward pass under test. */
function headClass(attend: (k: tf.Tensor3D, q: tf.Tensor3D, v: tf.Tensor3D, headSize: number) => tf.Tensor3D, names = ["key", "query", "value"]) {
  return class Head extends Module {
    readonly key: Linear;
    readonly query: Linear;
    readonly value: Linear;

    constructor(readonly nEmbd: number, readonly headSize: number) {
      super();
      this.key = this.module(names[0], new Linear(nEmbd, headSize, { bias: false }));
      this.query = this.module(names[1], new Linear(nEmbd, headSize, { bias: false }));
      this.value = this.module(names[2], new Linear(nEmbd, headSize, { bias: false }));
    }

    forward(x: tf.Tensor3D): tf.Tensor3D {
      return tf.tidy(() => attend(this.key.forward(x), this.query.forward(x), this.value.forward(x), this.headSize));
    }
  };
}

const affinities = (q: tf.Tensor3D, k: tf.Tensor3D) => tf.matMul(q, k, false, true) as tf.Tensor3D; // (B, T, T)

test("4.2 the Head class: right; no mask, no scale, 1/headSize, transposed weights, q and k swapped, other names, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkHead(headClass((k, q, v, hs) => tf.matMul(causalSoftmax(affinities(q, k).mul(hs ** -0.5) as tf.Tensor3D), v)));
  assert.equal(right.status, "right", text(right));
  assert.match(right.lines[0], /✓ your Head and lib\.Head with the same weights, on x of shape \(2, 6, 12\): shape \(2, 6, 4\)/);
  const noMask = checkHead(headClass((k, q, v, hs) => tf.matMul(tf.softmax(affinities(q, k).mul(hs ** -0.5), -1), v)));
  assert.equal(noMask.status, "wrong");
  assert.match(text(noMask), /no mask: every token also reads its future/);
  assert.doesNotMatch(noMask.hint!, /tf\.matMul|causalSoftmax/, "the nudge does not give the code away");
  const noScale = checkHead(headClass((k, q, v) => tf.matMul(causalSoftmax(affinities(q, k)), v)));
  assert.match(text(noScale), /no scale/);
  assert.match(exercises.recipe(noScale.id!), /headSize \*\* -0\.5/);
  const byHeadSize = checkHead(headClass((k, q, v, hs) => tf.matMul(causalSoftmax(affinities(q, k).div(hs) as tf.Tensor3D), v)));
  assert.match(text(byHeadSize), /the scale is 1\/headSize/);
  const transposed = checkHead(headClass((k, q, v, hs) => tf.matMul(causalSoftmax(affinities(q, k).mul(hs ** -0.5) as tf.Tensor3D), v, true)));
  assert.match(text(transposed), /the weights average the values of the wrong tokens/);
  const swapped = checkHead(headClass((k, q, v, hs) => tf.matMul(causalSoftmax(affinities(k, q).mul(hs ** -0.5) as tf.Tensor3D), v)));
  assert.match(text(swapped), /q and k swapped/);
  const thrown = checkHead(headClass((k, q) => tf.matMul(k, q)));
  assert.equal(thrown.status, "wrong");
  assert.match(thrown.lines[0], /your code threw/);
  const otherNames = checkHead(headClass((k, q, v) => v, ["k", "q", "v"]));
  assert.equal(otherNames.status, "wrong");
  assert.match(otherNames.lines[0], /do not load into your Head; register its layers as this\.module\("key", \.\.\.\)/);
  assert.equal(checkHead(headClass(() => todo("Head.forward"))).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check disposes what it makes, the learner's head included");
});

test("4.3 why the scale: right, variance guessed as √headSize, scale 1/headSize, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkScaling((hs) => hs, (hs) => hs ** -0.5);
  assert.equal(right.status, "right", text(right));
  const sqrt = checkScaling((hs) => Math.sqrt(hs), (hs) => hs ** -0.5);
  assert.equal(sqrt.status, "wrong");
  assert.match(text(sqrt), /✗ variance of q·kᵀ at headSize 16 \(measured [\d.]+\): got 4, expected 16/);
  const overScaled = checkScaling((hs) => hs, (hs) => 1 / hs);
  assert.equal(overScaled.status, "wrong");
  assert.match(text(overScaled), /✗ headSize 16: the measured variance times your scale² \(0\.0625²\)/);
  assert.equal(checkScaling(() => todo("variance"), (hs) => hs).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check disposes what it makes");
});
