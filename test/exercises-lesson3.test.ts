/** Lesson 3's checks: right answers pass, typical wrong ones are told what is off, a todo() is "not done yet". */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { exercises, todo, causalMask, type Embedding } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { weightsVerdict, maskedSoftmaxVerdict, positionsVerdict } = exercises.lesson3;

test("3.1 version 2's weights: right, rows not normalised, not done yet; no tensors left", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const tril = (T: number) => tf.linalg.bandPart(tf.ones([T, T]), -1, 0) as tf.Tensor2D;
  assert.equal(weightsVerdict((T) => tril(T).div(tril(T).sum(1, true)) as tf.Tensor2D).status, "right");
  const wrong = weightsVerdict(tril);
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✗ weights\(3\): largest difference 0\.6667 \(allowed 1\.00e-6\)/);
  assert.match(exercises.recipe(wrong.id!), /divide each row by its sum/);
  assert.equal(weightsVerdict(() => todo("weights")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("3.2 the masked softmax: right, no mask, not done yet", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = (a: tf.Tensor2D) => tf.softmax(tf.where(causalMask(a.shape[0]), a, tf.fill(a.shape, -Infinity)), -1) as tf.Tensor2D;
  assert.equal(maskedSoftmaxVerdict(right).status, "right");
  const wrong = maskedSoftmaxVerdict((a) => tf.softmax(a, -1));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✗ maskedSoftmax of random \(4, 4\) affinities: largest difference 0\.\d+/);
  assert.match(exercises.recipe(wrong.id!), /-Infinity/);
  assert.equal(maskedSoftmaxVerdict(() => todo("maskedSoftmax")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("3.3 adding positions: right, the whole position table added (fails when T < blockSize), not done yet", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = (idx: tf.Tensor2D, tok: Embedding, pos: Embedding) => {
    const T = idx.shape[1];
    return tok.forward(idx).add(pos.forward(tf.range(0, T, 1, "int32").reshape([1, T]) as tf.Tensor2D)) as tf.Tensor3D;
  };
  assert.equal(positionsVerdict(right).status, "right");
  const whole = positionsVerdict((idx, tok, pos) => tok.forward(idx).add(pos.weight) as tf.Tensor3D);
  assert.equal(whole.status, "wrong");
  assert.match(whole.lines[0], /your code threw: .*/);
  assert.match(exercises.recipe(whole.id!), /T can be less than the block size/);
  const noPositions = positionsVerdict((idx, tok) => tok.forward(idx));
  assert.match(noPositions.lines[0], /✗ embed of a \(2, 5\) batch: largest difference \d/);
  assert.equal(positionsVerdict(() => todo("embed")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});
