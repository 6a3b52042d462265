/** Lesson 4's checks: a right answer is right, the usual slips are wrong with a message that names them, todo is todo. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { causalSoftmax, exercises, todo, type Head } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { scaledAffinitiesVerdict, headForwardVerdict, scalingVerdict } = exercises.lesson4;

test("4.1 scaled affinities: right, unscaled, divided by headSize, transposed, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = scaledAffinitiesVerdict((q, k) => tf.matMul(q, k, false, true).mul(q.shape[2] ** -0.5));
  assert.equal(right.status, "right", right.lines.join("\n"));
  const unscaled = scaledAffinitiesVerdict((q, k) => tf.matMul(q, k, false, true));
  assert.equal(unscaled.status, "wrong");
  assert.match(unscaled.lines.join("\n"), /unscaled: 4 = √headSize times too large/);
  const divided = scaledAffinitiesVerdict((q, k) => tf.matMul(q, k, false, true).div(q.shape[2]));
  assert.match(divided.lines.join("\n"), /divided by headSize; the scale is 1\/√headSize/);
  const transposed = scaledAffinitiesVerdict((q, k) => tf.matMul(k, q, false, true).mul(0.25));
  assert.equal(transposed.status, "wrong");
  assert.match(transposed.lines[0], /shape \(2, 7, 5\), expected \(2, 5, 7\)/);
  assert.equal(scaledAffinitiesVerdict(() => todo("scaled affinities")).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check disposes what it makes");
});

const headParts = (head: Head, x: tf.Tensor3D) => ({ k: head.key.forward(x), q: head.query.forward(x), v: head.value.forward(x) });

test("4.2 a head's forward: right, no mask, no scale, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = headForwardVerdict((head, x) => {
    const { k, q, v } = headParts(head, x);
    const wei = causalSoftmax(tf.matMul(q, k, false, true).mul(head.headSize ** -0.5) as tf.Tensor3D);
    return tf.matMul(wei, v);
  });
  assert.equal(right.status, "right", right.lines.join("\n"));
  const noMask = headForwardVerdict((head, x) => {
    const { k, q, v } = headParts(head, x);
    return tf.matMul(tf.softmax(tf.matMul(q, k, false, true).mul(head.headSize ** -0.5), -1), v);
  });
  assert.equal(noMask.status, "wrong");
  assert.match(noMask.lines.join("\n"), /no mask: every token also reads its future/);
  const noScale = headForwardVerdict((head, x) => {
    const { k, q, v } = headParts(head, x);
    return tf.matMul(causalSoftmax(tf.matMul(q, k, false, true)), v);
  });
  assert.match(noScale.lines.join("\n"), /no scale/);
  assert.match(exercises.recipe(noScale.id!), /headSize\^-0\.5/);
  const transposed = headForwardVerdict((head, x) => {
    const { k, q, v } = headParts(head, x);
    return tf.matMul(causalSoftmax(tf.matMul(q, k, false, true).mul(head.headSize ** -0.5) as tf.Tensor3D), v, true);
  });
  assert.match(transposed.lines.join("\n"), /the weights average the values of the wrong tokens/);
  const thrown = headForwardVerdict((head, x) => tf.matMul(head.key.forward(x), head.query.forward(x)));
  assert.equal(thrown.status, "wrong");
  assert.match(thrown.lines[0], /your code threw/);
  assert.equal(headForwardVerdict(() => todo("forward")).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check disposes what it makes");
});

test("4.3 why the scale: right, variance guessed as √headSize, scale 1/headSize, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = scalingVerdict((hs) => hs, (hs) => hs ** -0.5);
  assert.equal(right.status, "right", right.lines.join("\n"));
  const sqrt = scalingVerdict((hs) => Math.sqrt(hs), (hs) => hs ** -0.5);
  assert.equal(sqrt.status, "wrong");
  assert.match(sqrt.lines.join("\n"), /✗ variance of q·kᵀ at headSize 16 \(measured [\d.]+\): got 4, expected 16/);
  const overScaled = scalingVerdict((hs) => hs, (hs) => 1 / hs);
  assert.equal(overScaled.status, "wrong");
  assert.match(overScaled.lines.join("\n"), /✗ headSize 16: the measured variance times your scale² \(0\.0625²\)/);
  assert.equal(scalingVerdict(() => todo("variance"), (hs) => hs).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check disposes what it makes");
});
