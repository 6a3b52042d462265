import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  CausalSelfAttention, Dropout, GPTLanguageModel, LayerNorm, MultiHeadAttention, MultiHeadLanguageModel, Rng,
  configs, validateConfig,
} from "@build-gpt/lib/internal";
import { attentionOf, backend, maxAbsDiff } from "./helpers";

const randomX = (shape: [number, number, number], seed = 3) => tf.randomNormal(shape, 0, 1, "float32", seed) as tf.Tensor3D;

test("multi-head attention: (B, T, C) in, (B, T, C) out; each head gets C / nHead channels", async () => {
  await backend();
  const mha = new MultiHeadAttention(32, 4, 8).initWeights(new Rng(1));
  const x = randomX([2, 8, 32]);
  const y = mha.forward(x);
  assert.deepEqual(y.shape, [2, 8, 32]);
  const maps = attentionOf(mha.heads[0], x);
  assert.deepEqual(maps.shape, [2, 8, 8]);
  maps.dispose();
  assert.equal(mha.heads.length, 4);
  assert.deepEqual(mha.heads[0].forward(x).shape, [2, 8, 8]);
  tf.dispose([x, y]);
  mha.dispose();
});

test("batched attention (nanoGPT) equals per-head attention with the same weights", async () => {
  await backend();
  const [C, nh] = [32, 4];
  const hs = C / nh;
  const perHead = new MultiHeadAttention(C, nh, hs).initWeights(new Rng(5));
  const batched = new CausalSelfAttention(C, nh).initWeights(new Rng(6));
  // c_attn rows: [query of every head; key of every head; value of every head], as nanoGPT splits them.
  const rows = (pick: "query" | "key" | "value") => perHead.heads.map((h) => h[pick].weight);
  tf.tidy(() => {
    batched.cAttn.weight.assign(tf.concat([...rows("query"), ...rows("key"), ...rows("value")], 0) as tf.Tensor2D);
    batched.cProj.weight.assign(perHead.proj!.weight);
    batched.cProj.bias!.assign(perHead.proj!.bias!);
  });
  const x = randomX([3, 16, C]);
  assert.ok(maxAbsDiff(perHead.forward(x), batched.forward(x)) < 1e-5);
  const heads = tf.tidy(() => tf.stack(perHead.heads.map((h) => attentionOf(h, x)), 1)); // (B, nh, T, T)
  const att = attentionOf(batched, x); // (B, nh, T, T)
  assert.ok(maxAbsDiff(heads, att) < 1e-6);
  tf.dispose([heads, att]);
  tf.dispose(x);
  perHead.dispose();
  batched.dispose();
});

test("LayerNorm gives every token mean ≈ 0 and variance ≈ 1", async () => {
  await backend();
  const ln = new LayerNorm(64);
  const x = tf.randomNormal([4, 8, 64], 3, 5, "float32", 9) as tf.Tensor3D;
  const { mean, variance } = tf.moments(ln.forward(x), -1);
  assert.ok(mean.abs().max().dataSync()[0] < 1e-5);
  assert.ok(variance.sub(1).abs().max().dataSync()[0] < 1e-3);
  tf.dispose([x, mean, variance]);
  ln.dispose();
});

test("dropout is active in training and off in evaluation", async () => {
  await backend();
  const dropout = new Dropout(0.5).initWeights(new Rng(2));
  const x = tf.ones([1000]);
  const trained = dropout.forward(x).dataSync();
  const zeros = trained.filter((v) => v === 0).length;
  assert.ok(zeros > 400 && zeros < 600, `${zeros} of 1000 zeroed`);
  assert.ok(trained.every((v) => v === 0 || Math.abs(v - 2) < 1e-6)); // survivors scaled by 1/(1−p)
  dropout.eval();
  assert.deepEqual(Array.from(dropout.forward(x).dataSync()), Array.from(x.dataSync()));
  x.dispose();
});

test("a GPT in eval mode is deterministic; in training mode dropout changes its output", async () => {
  await backend();
  const model = new GPTLanguageModel({ vocabSize: 65, blockSize: 16, nEmbd: 32, nHead: 4, nLayer: 2, dropout: 0.2 }, new Rng(4));
  const idx = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32");
  const a = model.forward(idx);
  const b = model.forward(idx);
  assert.ok(maxAbsDiff(a, b) > 0);
  model.eval();
  const c = model.forward(idx);
  const d = model.forward(idx);
  assert.equal(maxAbsDiff(c, d), 0);
  tf.dispose([idx, a, b, c, d]);
  model.dispose();
});

test("parameter counts: the notebook's final model 209,729; gpt.py's 10,788,929", async () => {
  await backend();
  const small = new GPTLanguageModel(configs.gptConfigOf(configs.named("notebook-final"), 65), new Rng(1));
  assert.equal(small.numParameters(), 209_729);
  small.dispose();
  const big = new GPTLanguageModel(configs.gptConfigOf(configs.named("gpt-py"), 65), new Rng(1));
  assert.equal(big.numParameters(), 10_788_929);
  big.dispose();
  const step = new MultiHeadLanguageModel({ vocabSize: 65, blockSize: 8, nEmbd: 32, nHead: 4, feedForward: true }, new Rng(1));
  assert.ok(step.namedParameters().some(([n]) => n === "sa_heads.heads.3.query.weight"));
  step.dispose();
});

test("gpt.py's initialisation: weights from N(0, 0.02), zero biases, LayerNorm ones and zeros", async () => {
  await backend();
  const model = new GPTLanguageModel({ vocabSize: 65, blockSize: 64, nEmbd: 128, nHead: 4, nLayer: 2 }, new Rng(8));
  for (const [name, v] of model.namedParameters()) {
    const values = Array.from(v.dataSync() as Float32Array);
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
    if (/ln(\d|_f)\.weight$/.test(name)) assert.ok(values.every((x) => x === 1), name);
    else if (name.endsWith("bias")) assert.ok(values.every((x) => x === 0), name);
    else {
      assert.ok(Math.abs(mean) < 0.005, `${name} mean ${mean}`);
      assert.ok(Math.abs(std - 0.02) < 0.002, `${name} std ${std}`);
    }
  }
  model.dispose();
});

test("invalid configurations are clear errors", () => {
  const base = { vocabSize: 65, blockSize: 8, nEmbd: 32, nHead: 4, nLayer: 2 };
  assert.throws(() => validateConfig({ ...base, nHead: 5 }), /nEmbd \(32\) must be divisible by nHead \(5\)/);
  assert.throws(() => validateConfig({ ...base, blockSize: 0 }), /blockSize must be a positive integer/);
  assert.throws(() => validateConfig({ ...base, dropout: 1 }), /dropout must be a number in \[0, 1\)/);
  assert.throws(() => new GPTLanguageModel({ ...base, nEmbd: 30 }, new Rng(1)), /divisible/);
});

test("gradient accumulation over micro-batches takes the same step as the whole batch", async () => {
  await backend();
  const { AdamW, getBatch, trainStep } = await import("@build-gpt/lib/internal");
  const config = { vocabSize: 65, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 2 };
  const data = Int32Array.from({ length: 500 }, (_, i) => (i * 31) % 65);
  const run = async (microBatches: number) => {
    const model = new GPTLanguageModel(config, new Rng(21));
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    const { x, y } = getBatch(data, 8, 8, new Rng(22));
    try {
      const loss = await trainStep(model, optimizer, x, y, { microBatches });
      const weights = await Promise.all(model.parameters().map(async (p) => Array.from(await p.data())));
      return { loss, weights: weights.flat() };
    } finally {
      tf.dispose([x, y]);
      model.dispose();
      optimizer.dispose();
    }
  };
  const before = tf.memory().numTensors;
  const whole = await run(1);
  const parts = await run(4);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Math.abs(whole.loss - parts.loss) < 1e-5);
  const worst = Math.max(...whole.weights.map((w, i) => Math.abs(w - parts.weights[i])));
  assert.ok(worst < 1e-5, `largest weight difference ${worst}`);
  await assert.rejects(run(3), /microBatches must be a positive integer that divides the batch size 8/);
  assert.equal(tf.memory().numTensors, before, "nothing left behind by the refused call either");
});
