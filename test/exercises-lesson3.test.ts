/** Lesson 3's checks: right answers pass, typical wrong ones are told what is off, a todo() is "not done yet". */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { exercises, todo, causalMask, type Embedding } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkWeights, checkMaskedSoftmax, checkPositions } = exercises.lesson3;

const tril = (T: number) => tf.linalg.bandPart(tf.ones([T, T]), -1, 0) as tf.Tensor2D;
const text = (v: exercises.Verdict) => v.lines.join("\n");

test("3.1 version 2's weights: right; sums, divided by T, the upper triangle, column sums; not done yet; no tensors left", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkWeights((T) => tril(T).div(tril(T).sum(1, true)) as tf.Tensor2D);
  assert.equal(right.status, "right", text(right));
  const sums = checkWeights(tril);
  assert.equal(sums.status, "wrong");
  assert.match(sums.lines[0], /✗ weights\(3\): largest difference 0\.6667 \(allowed 1\.00e-6\)/);
  assert.match(text(sums), /running sums, not averages/);
  assert.match(sums.hint!, /An average is a sum divided by how many/);
  assert.doesNotMatch(sums.hint!, /bandPart|div\(/, "the nudge does not give the code away");
  assert.match(exercises.recipe(sums.id!), /divide each row by its sum/);
  assert.match(text(checkWeights((T) => tril(T).div(T) as tf.Tensor2D)), /every row divided by T/);
  assert.match(text(checkWeights((T) => tril(T).div(tril(T).sum(1, true)).transpose() as tf.Tensor2D)), /the triangle is above the diagonal/);
  assert.match(text(checkWeights((T) => tril(T).div(tril(T).sum(0, true)) as tf.Tensor2D)), /the columns add up to 1, not the rows/);
  assert.equal(checkWeights(() => todo("weights")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

/** The right answer: −∞ above the diagonal, the (T, T) mask broadcast over the batch, then a softmax along each row. */
const maskedSoftmax = (a: tf.Tensor3D) => tf.softmax(tf.where(causalMask(a.shape[2]), a, tf.fill(a.shape, -Infinity)), -1) as tf.Tensor3D;

test("3.2 the masked softmax of a batch: right; no mask, 0 for the future, upside down, masked after, the wrong axis; (T, T) only; not done yet", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkMaskedSoftmax(maskedSoftmax);
  assert.equal(right.status, "right", text(right));
  assert.match(right.lines[0], /✓ maskedSoftmax of random \(3, 5, 5\) affinities/);
  const noMask = checkMaskedSoftmax((a) => tf.softmax(a, -1));
  assert.equal(noMask.status, "wrong");
  assert.match(noMask.lines[0], /✗ maskedSoftmax of random \(3, 5, 5\) affinities: largest difference 0\.\d+/);
  assert.match(text(noMask), /no mask: every token also takes from its future/);
  assert.match(exercises.recipe(noMask.id!), /-Infinity/);
  const zero = checkMaskedSoftmax((a) => tf.softmax(tf.where(causalMask(a.shape[2]), a, tf.zerosLike(a)), -1) as tf.Tensor3D);
  assert.match(text(zero), /the future was set to 0, and exp\(0\) = 1/);
  const upsideDown = checkMaskedSoftmax((a) => {
    const T = a.shape[2];
    const future = tf.linalg.bandPart(tf.ones([T, T]), 0, -1).greater(0); // on and above the diagonal
    return tf.softmax(tf.where(future, a, tf.fill(a.shape, -Infinity)), -1) as tf.Tensor3D;
  });
  assert.match(text(upsideDown), /the mask is upside down/);
  const columns = checkMaskedSoftmax((a) => tf.softmax(tf.where(causalMask(a.shape[2]), a, tf.fill(a.shape, -Infinity)), 1) as tf.Tensor3D);
  assert.match(columns.lines[0], /your code threw: Softmax along a non-last dimension/, "tf.softmax says so itself");
  const after = checkMaskedSoftmax((a) => tf.where(causalMask(a.shape[2]), tf.softmax(a, -1), tf.zerosLike(a)) as tf.Tensor3D);
  assert.match(text(after), /zeroed after the softmax/);
  const squareOnly = checkMaskedSoftmax((a) => {
    const T = a.shape[0]; // written for a (T, T) matrix: takes B for T
    return tf.softmax(tf.where(causalMask(T), a, tf.fill(a.shape, -Infinity)), -1) as tf.Tensor3D;
  });
  assert.equal(squareOnly.status, "wrong");
  assert.equal(checkMaskedSoftmax(() => todo("maskedSoftmax")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("3.3 adding positions: right, the whole position table added (fails when T < blockSize), no positions, not done yet", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = (idx: tf.Tensor2D, tok: Embedding, pos: Embedding) => {
    const T = idx.shape[1];
    return tok.forward(idx).add(pos.forward(tf.range(0, T, 1, "int32").reshape([1, T]) as tf.Tensor2D)) as tf.Tensor3D;
  };
  assert.equal(checkPositions(right).status, "right");
  const whole = checkPositions((idx, tok, pos) => tok.forward(idx).add(pos.weight) as tf.Tensor3D);
  assert.equal(whole.status, "wrong");
  assert.match(whole.lines[0], /your code threw: .*/);
  assert.match(exercises.recipe(whole.id!), /T can be less than the block size/);
  const noPositions = checkPositions((idx, tok) => tok.forward(idx));
  assert.match(noPositions.lines[0], /✗ embed of a \(2, 5\) batch: largest difference \d/);
  assert.equal(checkPositions(() => todo("embed")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});
