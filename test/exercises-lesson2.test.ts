/** Lesson 2's checks: right answers pass, typical wrong ones are told what is off, a todo() is "not done yet". */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { exercises, todo } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { uniformLossVerdict, crossEntropyVerdict, temperatureVerdict } = exercises.lesson2;

test("2.1 the loss of a uniform guess: right, a base-10 logarithm, not done yet", async () => {
  await backend();
  assert.equal(uniformLossVerdict((v) => -Math.log(1 / v)).status, "right");
  const wrong = uniformLossVerdict((v) => -Math.log10(1 / v));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✗ uniformLoss\(65\): got 1\.813, expected 4\.174 \(off by 2\.361; allowed 1\.00e-4\)/);
  assert.match(exercises.recipe(wrong.id!), /natural logarithm/);
  assert.equal(uniformLossVerdict(() => todo("uniformLoss")).status, "todo");
});

test("2.2 cross-entropy by hand: right, a sum instead of a mean, not done yet; no tensors left", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = (logits: tf.Tensor2D, targets: tf.Tensor1D) =>
    tf.logSoftmax(logits).mul(tf.oneHot(targets, logits.shape[1])).sum(1).mean().neg() as tf.Scalar;
  assert.equal(crossEntropyVerdict(right).status, "right");
  const summed = crossEntropyVerdict((logits, targets) => tf.logSoftmax(logits).mul(tf.oneHot(targets, logits.shape[1])).sum().neg() as tf.Scalar);
  assert.equal(summed.status, "wrong");
  assert.match(summed.lines[0], /✗ loss of 6 rows of 5 logits: largest difference \d/);
  assert.match(exercises.recipe(summed.id!), /average over the rows/);
  const perRow = crossEntropyVerdict((logits, targets) => tf.logSoftmax(logits).mul(tf.oneHot(targets, logits.shape[1])).sum(1).neg() as tf.Tensor as tf.Scalar);
  assert.match(perRow.lines[0], /✗ loss of 6 rows of 5 logits: shape \(6\), expected \(\)/);
  assert.equal(crossEntropyVerdict(() => todo("crossEntropy")).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check frees the learner's results and its own");
});

test("2.3 probabilities at a temperature: right, multiplied instead of divided, not done yet", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const softmax = (z: number[]) => {
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  assert.equal((await temperatureVerdict((logits, t) => softmax(logits.map((z) => z / t)))).status, "right");
  const wrong = await temperatureVerdict((logits, t) => softmax(logits.map((z) => z * t)));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✓ probabilities at temperature 1: shape \(8\), largest difference/);
  assert.match(wrong.lines[1], /✗ probabilities at temperature 0\.5: largest difference 0\.\d+ \(allowed 1\.00e-5\)/);
  assert.match(exercises.recipe(wrong.id!), /divide every logit by the temperature/);
  assert.equal((await temperatureVerdict(() => todo("probsAt"))).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});
