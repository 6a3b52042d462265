// wholeLoss and train()'s wholeVal: the loss over every position of a text, with no sampling.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, GPTLanguageModel, Rng, train, wholeLoss } from "@build-gpt/lib/internal";
import { assertClose, backend } from "./helpers";

const DATA = Int32Array.from({ length: 2000 }, (_, i) => (i * 7 + (i >> 3)) % 20);
const split = { train: DATA.slice(0, 1800), val: DATA.slice(1800) };
const tiny = (seed = 1) => new GPTLanguageModel({ vocabSize: 20, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 1, dropout: 0.5 }, new Rng(seed));

/** The same mean, one window at a time: x = tokens[i : i+t], y = tokens[i+1 : i+t+1], weighted by t. */
async function windowByWindow(model: GPTLanguageModel, tokens: Int32Array, T: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < tokens.length - 1; i += T) {
    const t = Math.min(T, tokens.length - 1 - i);
    const loss = model.inEvalMode(() => tf.tidy(() => model.loss(tf.tensor2d(tokens.slice(i, i + t), [1, t], "int32"), tf.tensor2d(tokens.slice(i + 1, i + t + 1), [1, t], "int32"))));
    sum += (await loss.data())[0] * t;
    loss.dispose();
  }
  return sum / (tokens.length - 1);
}

test("wholeLoss: the mean over every position, in windows of blockSize (the last one shorter), in evaluation mode", async () => {
  await backend();
  const model = tiny();
  const tokens = DATA.slice(0, 50); // 49 targets: six windows of 8 and one of 1
  const before = tf.memory().numTensors;
  const whole = await wholeLoss(model, tokens, { batchSize: 4, blockSize: 8 });
  assert.equal(tf.memory().numTensors, before, "no tensor left");
  assertClose(whole, await windowByWindow(model, tokens, 8), 1e-5, "batched against window by window");
  assertClose(await wholeLoss(model, tokens, { batchSize: 3, blockSize: 8 }), whole, 1e-6, "another batch size");
  assert.ok(model.training, "the model's mode is restored (dropout 0.5 was off while measuring)");
  model.dispose();
});

test("wholeLoss: a clear error for a text too short or with ids outside the vocabulary", async () => {
  await backend();
  const model = tiny();
  await assert.rejects(wholeLoss(model, Int32Array.of(3), { batchSize: 4, blockSize: 8 }), /needs at least 2 tokens/);
  await assert.rejects(wholeLoss(model, Int32Array.of(3, 25, 1), { batchSize: 4, blockSize: 8 }), /token id 25 \(at index 1\) is outside the model's vocabulary of 20/);
  await assert.rejects(wholeLoss(model, DATA, { batchSize: 0, blockSize: 8 }), /batchSize must be a positive integer/);
  model.dispose();
});

test("train with wholeVal: each evaluation's val is wholeLoss of the val text, the same in every run of a seed", async () => {
  await backend();
  const run = async () => {
    const model = tiny();
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    const { history } = await train(model, optimizer, split, { batchSize: 4, blockSize: 8, maxIters: 6, evalInterval: 3, evalIters: 2, wholeVal: true, rng: new Rng(5) });
    const after = await wholeLoss(model, split.val, { batchSize: 4, blockSize: 8 });
    model.dispose();
    optimizer.dispose();
    return { history, after };
  };
  const before = tf.memory().numTensors;
  const a = await run();
  const b = await run();
  assert.equal(tf.memory().numTensors, before, "no tensor left");
  assert.deepEqual(a.history.map((p) => p.step), [0, 3, 6]);
  assert.equal(a.history[2].val, a.after, "the last evaluation is the trained model's wholeLoss");
  assert.deepEqual(a.history.map((p) => [p.train, p.val]), b.history.map((p) => [p.train, p.val]));
});
