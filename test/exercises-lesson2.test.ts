/** Lesson 2's checks: right answers pass, typical wrong ones are told what is off, a todo() is "not done yet". */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, exercises, todo, type LanguageModel } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkUniformLoss, checkCrossEntropy, checkTemperature, checkTrainingStep } = exercises.lesson2;

test("2.1 the loss of a uniform guess: right, a base-10 logarithm, not done yet", async () => {
  await backend();
  assert.equal(checkUniformLoss((v) => -Math.log(1 / v)).status, "right");
  const wrong = checkUniformLoss((v) => -Math.log10(1 / v));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✗ uniformLoss\(65\): got 1\.813, expected 4\.174 \(off by 2\.361; allowed 1\.00e-4\)/);
  assert.match(exercises.recipe(wrong.id!), /natural logarithm/);
  assert.equal(checkUniformLoss(() => todo("uniformLoss")).status, "todo");
});

test("2.2 cross-entropy by hand: right, a sum instead of a mean, not done yet; no tensors left", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = (logits: tf.Tensor2D, targets: tf.Tensor1D) =>
    tf.logSoftmax(logits).mul(tf.oneHot(targets, logits.shape[1])).sum(1).mean().neg() as tf.Scalar;
  assert.equal(checkCrossEntropy(right).status, "right");
  const summed = checkCrossEntropy((logits, targets) => tf.logSoftmax(logits).mul(tf.oneHot(targets, logits.shape[1])).sum().neg() as tf.Scalar);
  assert.equal(summed.status, "wrong");
  assert.match(summed.lines[0], /✗ loss of 6 rows of 5 logits: largest difference \d/);
  assert.match(exercises.recipe(summed.id!), /average over the rows/);
  const perRow = checkCrossEntropy((logits, targets) => tf.logSoftmax(logits).mul(tf.oneHot(targets, logits.shape[1])).sum(1).neg() as tf.Tensor as tf.Scalar);
  assert.match(perRow.lines[0], /✗ loss of 6 rows of 5 logits: shape \(6\), expected \(\)/);
  assert.equal(checkCrossEntropy(() => todo("crossEntropy")).status, "todo");
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
  assert.equal((await checkTemperature((logits, t) => softmax(logits.map((z) => z / t)))).status, "right");
  const wrong = await checkTemperature((logits, t) => softmax(logits.map((z) => z * t)));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✓ probabilities at temperature 1: shape \(8\), largest difference/);
  assert.match(wrong.lines[1], /✗ probabilities at temperature 0\.5: largest difference 0\.\d+ \(allowed 1\.00e-5\)/);
  assert.match(exercises.recipe(wrong.id!), /divide every logit by the temperature/);
  assert.equal((await checkTemperature(() => todo("probsAt"))).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("2.4 one training step: right, no update, plain gradient descent, a new optimizer each step, a leak, a tensor returned, not done yet", async () => {
  await backend();
  const before = tf.memory().numTensors;
  type Step = (model: LanguageModel, optimizer: AdamW, x: tf.Tensor2D, y: tf.Tensor2D) => Promise<number>;
  const right: Step = async (model, optimizer, x, y) => {
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
    optimizer.step(grads);
    const loss = (await value.data())[0];
    tf.dispose([value, grads]);
    return loss;
  };
  const verdict = await checkTrainingStep(right);
  assert.equal(verdict.status, "right", verdict.lines.join("\n"));
  assert.match(verdict.lines[1], /✓ step 1: the weights after it: shape \(65, 65\), largest difference 0 — right/);

  const noUpdate = await checkTrainingStep(async (model, _optimizer, x, y) => {
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
    const loss = (await value.data())[0];
    tf.dispose([value, grads]);
    return loss;
  });
  assert.equal(noUpdate.status, "wrong");
  assert.match(noUpdate.lines[0], /✓ step 1: the loss it returns/);
  assert.match(noUpdate.lines[1], /✗ step 1: the weights after it: unchanged: the update was not applied/);
  assert.equal(noUpdate.lines.length, 3, "step 2 is not taken from weights that already differ");
  assert.match(noUpdate.hint!, /the optimizer's update/);
  assert.match(exercises.recipe(noUpdate.id!), /optimizer\.step\(grads\)/);

  const sgd = await checkTrainingStep(async (model, optimizer, x, y) => {
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
    tf.tidy(() => model.parameters().forEach((p) => p.assign(p.sub(grads[p.name].mul(optimizer.lr)))));
    const loss = (await value.data())[0];
    tf.dispose([value, grads]);
    return loss;
  });
  assert.match(sgd.lines[1], /✗ step 1: the weights after it: largest difference \d/, "p − lr·g is not AdamW's update");

  const freshOptimizer = await checkTrainingStep(async (model, _optimizer, x, y) => {
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    const loss = await right(model, optimizer, x, y);
    optimizer.dispose();
    return loss;
  });
  assert.match(freshOptimizer.lines[1], /✓ step 1: the weights after it/, "a fresh AdamW's first step is the same");
  assert.match(freshOptimizer.lines[4], /✗ step 2: the weights after it: largest difference/, "its second is not: the moments start over");

  const leaky = await checkTrainingStep(async (model, optimizer, x, y) => {
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
    optimizer.step(grads);
    return (await value.data())[0];
  });
  assert.equal(leaky.status, "wrong");
  assert.deepEqual(leaky.lines.slice(0, 2).map((l) => l[0]), ["✓", "✓"], "the loss and the weights are right");
  assert.match(leaky.lines[2], /✗ step 1: 2 tensors left behind, each step more/);

  const tensor = await checkTrainingStep((async (model: LanguageModel, optimizer: AdamW, x: tf.Tensor2D, y: tf.Tensor2D) => {
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
    optimizer.step(grads);
    tf.dispose(grads);
    return value;
  }) as unknown as Step);
  assert.match(tensor.lines[0], /✗ step 1: the loss it returns: got a tensor, expected a number/);

  assert.equal((await checkTrainingStep(async () => todo("trainingStep"))).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the check frees its models, its batches and what a leaky step left");
});
