/** The Module API the lessons use: one initialisation pass, state dicts, eval mode, attention maps from every attention class. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  attentionMaps, Block, Dropout, Embedding, GPTLanguageModel, Head, Linear, MultiHeadAttention, Rng, validateConfig,
  type GPTConfig,
} from "@build-gpt/lib/internal";
import { backend, maxAbsDiff } from "./helpers";

const small: GPTConfig = { vocabSize: 11, blockSize: 6, nEmbd: 8, nHead: 2, nLayer: 2 };

test("initWeights is one pass: the same seed gives the same weights, another seed other weights", async () => {
  await backend();
  const a = new MultiHeadAttention(16, 2, 8).initWeights(new Rng(3));
  const b = new MultiHeadAttention(16, 2, 8).initWeights(new Rng(3));
  const c = new MultiHeadAttention(16, 2, 8).initWeights(new Rng(4));
  for (const [name, p] of a.namedParameters()) {
    assert.equal(maxAbsDiff(p, b.stateDict()[name]), 0, name);
    assert.ok(maxAbsDiff(p, c.stateDict()[name]) > 0, name);
  }
  // Two layers of one model never share weights (no fixed-seed default behind the scenes).
  assert.ok(maxAbsDiff(a.heads[0].key.weight, a.heads[1].key.weight) > 0);
  [a, b, c].forEach((m) => m.dispose());
});

test("PyTorch's default init and gpt.py's: U(±1/√in) with a bias, or N(0, std²) with zero bias", async () => {
  await backend();
  const pytorch = new Linear(64, 32).initWeights(new Rng(1));
  const w = pytorch.weight.dataSync();
  assert.ok(w.every((v) => Math.abs(v) <= 1 / 8) && Math.max(...w) > 0.12);
  assert.ok(pytorch.bias!.dataSync().some((v) => v !== 0));
  const gpt = new Linear(64, 32).initWeights(new Rng(1), { std: 0.02 });
  assert.ok(gpt.bias!.dataSync().every((v) => v === 0));
  const emb = new Embedding(100, 50).initWeights(new Rng(2));
  const { variance } = tf.moments(emb.weight);
  assert.ok(Math.abs(variance.dataSync()[0] - 1) < 0.05); // N(0, 1), as nn.Embedding
  variance.dispose();
  assert.throws(() => new Linear(4, 4).initWeights(new Rng(1), { std: -1 }), /std must be a finite number > 0/);
  [pytorch, gpt, emb].forEach((m) => m.dispose());
});

test("a layer used before initWeights or loadStateDict says what to do", async () => {
  await backend();
  const x = tf.ones([1, 2, 4]) as tf.Tensor3D;
  const head = new Head(4, 2);
  assert.throws(() => head.forward(x), /Linear\(4 → 2\) has no weights yet: call initWeights\(rng\)/);
  const emb = new Embedding(5, 3);
  assert.throws(() => emb.forward(tf.tensor2d([[1]], [1, 1], "int32")), /Embedding\(5, 3\) has no weights yet/);
  assert.throws(() => new Dropout(0.5).forward(x), /no random stream yet: call initWeights\(rng\)/);
  const before = tf.memory().numTensors;
  head.initWeights(new Rng(1));
  tf.dispose(head.forward(x));
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  [head, emb].forEach((m) => m.dispose());
});

test("stateDict and loadStateDict copy one model into another: the same outputs", async () => {
  await backend();
  const a = new Block(8, 2).initWeights(new Rng(5));
  const b = new Block(8, 2).loadStateDict(new Block(8, 2).initWeights(new Rng(6)).stateDict());
  const x = tf.randomNormal([2, 5, 8], 0, 1, "float32", 7) as tf.Tensor3D;
  assert.ok(maxAbsDiff(a.forward(x), b.forward(x)) > 0);
  b.loadStateDict(a.stateDict());
  assert.equal(maxAbsDiff(a.forward(x), b.forward(x)), 0);
  assert.deepEqual(Object.keys(a.stateDict()), a.namedParameters().map(([n]) => n));
  x.dispose();
  [a, b].forEach((m) => m.dispose());
});

test("constructors check their sizes before allocating anything", async () => {
  await backend();
  const before = tf.memory().numTensors;
  assert.throws(() => new Linear(0, 3), /Linear: inFeatures must be a positive integer, got 0/);
  assert.throws(() => new Embedding(5, 2.5), /Embedding: embeddingDim must be a positive integer, got 2.5/);
  assert.throws(() => new Head(8, -1), /Head: headSize must be a positive integer/);
  assert.throws(() => new Block(30, 4), /Block: nEmbd \(30\) must be divisible by nHead \(4\)/);
  assert.throws(() => new GPTLanguageModel({ ...small, nHead: 3 }, new Rng(1)), /divisible by nHead \(3\)/);
  assert.equal(tf.memory().numTensors, before);
});

test("configuration typos are errors that give the accepted values", () => {
  assert.throws(() => validateConfig({ ...small, attention: "batchd" as never }), /attention must be "heads" or "batched", got "batchd"/);
  assert.throws(() => validateConfig({ ...small, init: "xavier" as never }), /init must be "gpt" or "pytorch", got "xavier"/);
  assert.throws(() => validateConfig({ ...small, layerNorm: "no" as never }), /layerNorm must be true or false, got "no"/);
  assert.throws(() => validateConfig({ ...small, dropout: "0.2" as never }), /dropout must be a number in \[0, 1\), got "0.2"/);
  assert.throws(() => validateConfig({ ...small, nEmbed: 8 } as never), /unknown key "nEmbed"; the keys are vocabSize/);
});

test("inEvalMode restores the mode, after a value, a throw or a promise", async () => {
  const model = new Dropout(0.1);
  assert.equal(model.inEvalMode(() => model.training), false);
  assert.equal(model.training, true);
  assert.throws(() => model.inEvalMode(() => { throw new Error("boom"); }), /boom/);
  assert.equal(model.training, true);
  model.eval();
  assert.equal(await model.inEvalMode(async () => model.training), false);
  assert.equal(model.training, false);
});

test("attentionMaps reads every head through hooks, per-head and batched alike, and the two agree", async () => {
  await backend();
  const heads = new GPTLanguageModel({ ...small, attention: "heads" }, new Rng(8));
  const batched = new GPTLanguageModel({ ...small, attention: "batched" }, new Rng(8));
  // The batched layer's c_attn holds every head's query, key and value rows; copy the per-head weights into it.
  const state: Record<string, tf.Tensor> = {};
  for (const [name, v] of heads.namedParameters()) if (!name.includes(".sa.")) state[name] = v;
  for (let l = 0; l < small.nLayer; l++) {
    const rows = (w: string) => [0, 1].map((h) => heads.stateDict()[`blocks.${l}.sa.heads.${h}.${w}.weight`]);
    state[`blocks.${l}.sa.c_attn.weight`] = tf.concat([...rows("query"), ...rows("key"), ...rows("value")], 0);
    state[`blocks.${l}.sa.c_proj.weight`] = heads.stateDict()[`blocks.${l}.sa.proj.weight`];
    state[`blocks.${l}.sa.c_proj.bias`] = heads.stateDict()[`blocks.${l}.sa.proj.bias`];
  }
  batched.loadStateDict(state);
  const idx = tf.tensor2d([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], [2, 5], "int32");
  const before = tf.memory().numTensors;
  const a = attentionMaps(heads, idx);
  const b = attentionMaps(batched, idx);
  assert.deepEqual(a.map((m) => m.name), ["blocks.0.sa.heads.0", "blocks.0.sa.heads.1", "blocks.1.sa.heads.0", "blocks.1.sa.heads.1"]);
  assert.deepEqual(b.map((m) => m.name), ["blocks.0.sa[0]", "blocks.0.sa[1]", "blocks.1.sa[0]", "blocks.1.sa[1]"]);
  a.forEach((m, i) => {
    assert.deepEqual(m.weights.shape, [2, 5, 5]);
    assert.ok(maxAbsDiff(m.weights, b[i].weights) < 1e-6, m.name);
  });
  tf.dispose([...a, ...b].map((m) => m.weights));
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  tf.dispose([idx, ...Object.entries(state).filter(([n]) => n.includes("c_attn")).map(([, t]) => t)]);
  [heads, batched].forEach((m) => m.dispose());
});
