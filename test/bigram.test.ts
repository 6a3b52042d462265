import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, BigramLanguageModel, CharTokenizer, generate, getBatch, loadTinyShakespeare, Rng, train, trainStep, trainValSplit } from "@build-gpt/lib/internal";
import { assertClose, backend } from "./helpers";

async function shakespeare() {
  const text = await loadTinyShakespeare();
  const tok = CharTokenizer.fromText(text);
  return { tok, split: trainValSplit(tok.encode(text)) };
}

test("logits have shape (B, T, vocabSize)", async () => {
  await backend();
  const model = new BigramLanguageModel(65, new Rng(1));
  const logits = model.forward(tf.zeros([4, 8], "int32") as tf.Tensor2D);
  assert.deepEqual(logits.shape, [4, 8, 65]);
  assert.equal(model.numParameters(), 65 * 65);
  assert.deepEqual(model.namedParameters().map(([n]) => n), ["token_embedding_table.weight"]);
  tf.dispose(logits);
  model.dispose();
});

test("loss at init: −ln(1/65) = 4.17 for uniform logits; 4.17 + σ²/2 for PyTorch's N(0, 1) table", async () => {
  await backend();
  const { split } = await shakespeare();
  const rng = new Rng(1337);
  const model = new BigramLanguageModel(65, rng);
  const { x, y } = getBatch(split.train, 32, 8, rng);
  // With every logit equal, the model guesses uniformly: exactly −ln(1/65).
  const table = model.tokenEmbeddingTable.weight;
  const saved = table.clone();
  table.assign(tf.zerosLike(table));
  const uniform = model.loss(x, y);
  assertClose(uniform.dataSync()[0], -Math.log(1 / 65), 1e-5, "uniform loss");
  // At the default initialisation (N(0, 1), as nn.Embedding): E[logsumexp] ≈ ln 65 + 1/2. The lecture printed 4.8786.
  table.assign(saved);
  const atInit = model.loss(x, y);
  assertClose(atInit.dataSync()[0], -Math.log(1 / 65) + 0.5, 0.3, "loss at init");
  tf.dispose([x, y, saved, uniform, atInit]);
  model.dispose();
});

test("generate returns the context plus exactly maxNewTokens tokens, all in the vocabulary", async () => {
  await backend();
  const model = new BigramLanguageModel(65, new Rng(3));
  try {
    const out = await generate(model, [0], 100, { rng: new Rng(4) });
    assert.equal(out.length, 101);
    assert.equal(out[0], 0);
    assert.ok(out.every((t) => Number.isInteger(t) && t >= 0 && t < 65));
    assert.deepEqual(await generate(model, [0], 50, { rng: new Rng(4) }), out.slice(0, 51)); // seeded: reproducible
    await assert.rejects(generate(model, [], 5), /at least one context token/);
  } finally {
    model.dispose();
  }
});

test("top-k sampling with k = 1 always picks the most likely token", async () => {
  await backend();
  const model = new BigramLanguageModel(65, new Rng(5));
  try {
    const out = await generate(model, [7], 20, { rng: new Rng(6), topK: 1 });
    const table = await model.tokenEmbeddingTable.weight.array();
    for (let i = 1; i < out.length; i++) {
      const row = table[out[i - 1]];
      assert.equal(out[i], row.indexOf(Math.max(...row)));
    }
  } finally {
    model.dispose();
  }
});

test("three hundred AdamW steps lower the loss, and leak no tensors", async () => {
  await backend();
  const { split } = await shakespeare();
  const rng = new Rng(1337);
  const model = new BigramLanguageModel(65, rng);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  try {
    const result = await train(model, optimizer, split, { batchSize: 32, blockSize: 8, maxIters: 300, evalInterval: 100, evalIters: 20, rng });
    const first = result.history[0];
    const last = result.history[result.history.length - 1];
    assert.deepEqual(result.history.map((p) => p.step), [0, 100, 200, 300]);
    assert.ok(last.val < first.val - 1.0, `val loss went from ${first.val} to ${last.val}`);
    assert.equal(result.stepLosses.length, 300);

    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const { x, y } = getBatch(split.train, 32, 8, rng);
      try {
        await trainStep(model, optimizer, x, y);
      } finally {
        tf.dispose([x, y]);
      }
    }
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
    optimizer.dispose();
  }
});

test("training is deterministic under a seed", async () => {
  await backend();
  const { split } = await shakespeare();
  const run = async () => {
    const rng = new Rng(99);
    const model = new BigramLanguageModel(65, rng);
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    try {
      return (await train(model, optimizer, split, { batchSize: 8, blockSize: 8, maxIters: 50, evalInterval: 50, evalIters: 2, rng })).stepLosses;
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  };
  assert.deepEqual(await run(), await run());
});

test("AdamW takes the step torch.optim.AdamW takes", async () => {
  await backend();
  // One parameter p = [1, -2], loss = sum(p²) so the gradient is 2p; lr 0.1, weight decay 0.01, two steps.
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.01 });
  const expected = [1, -2];
  const m = [0, 0];
  const v = [0, 0];
  for (let t = 1; t <= 2; t++) {
    const { grads } = tf.variableGrads(() => p.square().sum() as tf.Scalar, [p]);
    opt.step(grads);
    tf.dispose(grads);
    for (let i = 0; i < 2; i++) {
      const g = 2 * expected[i];
      expected[i] *= 1 - 0.1 * 0.01;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
      expected[i] -= (0.1 / (1 - 0.9 ** t)) * (m[i] / denom);
    }
  }
  const got = p.dataSync();
  assertClose(got[0], expected[0], 1e-6, "p[0]");
  assertClose(got[1], expected[1], 1e-6, "p[1]");
  opt.dispose();
  p.dispose();
});
