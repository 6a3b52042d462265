// The training loop's schedule, time budget, gradient clipping, weight-decay groups and memory checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  AdamW, EngineOutOfMemory, GPTLanguageModel, LayerNorm, Linear, Rng, StepTooLarge, checkStepMemory, clipGradNorm, learningRate,
  train, trainStep, withNativeKernels, getBatch, nativeKernels,
} from "@build-gpt/lib/internal";
import { runTrain } from "@build-gpt/lib/dist/cli/train";
import { backend } from "./helpers";

const DATA = Int32Array.from({ length: 4000 }, (_, i) => (i * 7 + (i >> 3)) % 20);
const split = { train: DATA.slice(0, 3600), val: DATA.slice(3600) };
const tiny = (seed = 1) => new GPTLanguageModel({ vocabSize: 20, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 1 }, new Rng(seed));

test("learningRate: linear warm-up, then constant or a cosine from lr down to minLr", () => {
  const s = { lr: 1e-3, warmupIters: 4, decay: "cosine" as const, minLr: 1e-4 };
  assert.deepEqual([0, 1, 3].map((i) => learningRate(s, i, 0)), [2e-4, 4e-4, 8e-4]);
  assert.equal(learningRate(s, 4, 0), 1e-3);
  assert.ok(Math.abs(learningRate(s, 50, 0.5) - 5.5e-4) < 1e-12);
  assert.equal(learningRate(s, 99, 1), 1e-4);
  assert.equal(learningRate(s, 99, 7), 1e-4, "past the end it stays at minLr");
  assert.equal(learningRate({ lr: 3e-4 }, 1000, 0.9), 3e-4);
});

test("train with a cosine schedule over the steps: each step's lr is the schedule's, the last one minLr", async () => {
  await backend();
  const model = tiny();
  const optimizer = new AdamW(model.parameters(), { lr: 1 });
  const lrs: number[] = [];
  const schedule = { lr: 1e-3, warmupIters: 2, decay: "cosine" as const, minLr: 1e-4 };
  await train(model, optimizer, split, { batchSize: 4, blockSize: 8, maxIters: 12, evalInterval: 12, evalIters: 1, schedule, onStep: () => lrs.push(optimizer.lr) });
  model.dispose();
  optimizer.dispose();
  assert.deepEqual(lrs.slice(0, 2), [1e-3 / 3, 2e-3 / 3]);
  assert.equal(lrs[2], 1e-3);
  lrs.slice(2).forEach((lr, i) => assert.ok(Math.abs(lr - learningRate(schedule, i + 2, i / 10)) < 1e-15, `step ${i + 2}`));
  assert.ok(lrs.slice(2).every((lr, i) => i === 0 || lr < lrs[i + 1]), "after the warm-up the lr only falls");
});

test("a time budget: training stops when it is spent, evaluates within it, and the cosine ends with it", async () => {
  await backend();
  const model = tiny();
  const optimizer = new AdamW(model.parameters());
  const lrs: number[] = [];
  const schedule = { lr: 1e-3, decay: "cosine" as const, minLr: 1e-4 };
  const budgetMs = 1500;
  const t0 = performance.now();
  const result = await train(model, optimizer, split, {
    batchSize: 4, blockSize: 8, maxIters: 1_000_000, evalInterval: 1_000_000, evalIters: 2, schedule, maxMinutes: budgetMs / 60_000,
    onStep: () => lrs.push(optimizer.lr),
  });
  const elapsed = performance.now() - t0;
  model.dispose();
  optimizer.dispose();
  const last = result.history[result.history.length - 1];
  assert.equal(last.step, lrs.length, "the last evaluation is after the last step");
  assert.equal(result.history.length, 2, "an evaluation at the start and one at the end");
  assert.ok(lrs.length > 20, `${lrs.length} steps in the budget`);
  assert.ok(elapsed < budgetMs + 1000, `the run took ${elapsed.toFixed(0)} ms of a ${budgetMs} ms budget`);
  assert.ok(lrs[lrs.length - 1] < 1.6e-4, `the last lr ${lrs[lrs.length - 1]} is near minLr: the schedule ended with the budget`);
  assert.ok(lrs.every((lr, i) => i === 0 || lr <= lrs[i - 1]), "the lr only falls");
});

test("npm run train --max-minutes: an interrupted budgeted run saves its clock, and --resume spends only what is left", async () => {
  await backend();
  const dir = mkdtempSync(path.join(tmpdir(), "budget-test-"));
  const data = path.join(dir, "text.txt");
  writeFileSync(data, Array.from({ length: 60 }, (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog.\n`).join(""));
  const out = path.join(dir, "run");
  const args = ["--config", "notebook-final", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "8", "--batch-size", "4",
    "--eval-iters", "2", "--max-iters", "1000000", "--eval-interval", "100000", "--lr-schedule", "cosine", "--min-lr", "0.0001", "--data", data, "--out", out];
  const stop = new AbortController();
  const first = await runTrain([...args, "--max-minutes", "0.05"], { log: () => undefined, signal: stop.signal, onStep: (s) => s === 30 && stop.abort() });
  first!.model.dispose();
  const saved = JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")).training;
  assert.equal(saved.saved, "interrupted");
  assert.equal(saved.step, 30);
  assert.ok(saved.spentMs > 0 && saved.spentMs < 3000, `spent ${saved.spentMs} ms`);
  const t0 = performance.now();
  const lines: string[] = [];
  const rest = await runTrain(["--out", out, "--resume"], { log: (l) => lines.push(l) });
  rest!.model.dispose();
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 3000 - saved.spentMs + 2000, `the resumed run took ${elapsed.toFixed(0)} ms of the ${3000 - saved.spentMs} ms left`);
  assert.match(lines[lines.length - 1], /^done at step \d+/);
});

test("clipGradNorm scales every gradient by maxNorm / (norm + 1e-6) when the global norm is above maxNorm", async () => {
  await backend();
  const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) }; // global norm 5
  const clipped = clipGradNorm(grads, 1);
  const same = clipGradNorm(grads, 10);
  try {
    assert.deepEqual(Array.from(await clipped.a.data()).map((v) => +v.toFixed(6)), [0.6, 0]);
    assert.deepEqual(Array.from(await clipped.b.data()).map((v) => +v.toFixed(6)), [0, 0.8]);
    assert.deepEqual(Array.from(await same.a.data()), [3, 0]);
  } finally {
    tf.dispose([grads, clipped, same]);
  }
});

test("trainStep with gradClip takes the step of the clipped gradient", async () => {
  await backend();
  const { x, y } = getBatch(split.train, 4, 8, new Rng(3));
  const weightsAfter = async (clip: number, byHand: boolean) => {
    const model = tiny(9);
    const optimizer = new AdamW(model.parameters(), { lr: 0.1 });
    try {
      if (byHand) {
        const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
        const c = clipGradNorm(grads, clip);
        optimizer.step(c);
        tf.dispose([value, grads, c]);
      } else {
        await trainStep(model, optimizer, x, y, { gradClip: clip });
      }
      return (await Promise.all(model.parameters().map(async (p) => Array.from(await p.data())))).flat();
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  };
  assert.deepEqual(await weightsAfter(0.01, false), await weightsAfter(0.01, true));
  assert.notDeepEqual(await weightsAfter(0.01, false), await weightsAfter(0, false));
  tf.dispose([x, y]);
});

for (const native of [true, false]) {
  test(`AdamW decayOn "matrices" (${native ? "native" : "reference"} route): weights decay, biases and LayerNorm do not`, async () => {
    await backend();
    if (native && !nativeKernels()) return;
    await withNativeKernels(native, async () => {
      const lin = new Linear(3, 2).initWeights(new Rng(1));
      const ln = new LayerNorm(3);
      const params = [...lin.parameters(), ...ln.parameters()];
      const before = await Promise.all(params.map(async (p) => Array.from(await p.data())));
      const optimizer = new AdamW(params, { lr: 0.1, weightDecay: 0.5, decayOn: "matrices" });
      const zeros = Object.fromEntries(params.map((p) => [p.name, tf.zerosLike(p)]));
      optimizer.step(zeros); // no gradient: only the decay moves a parameter, p · (1 − lr · λ)
      const after = await Promise.all(params.map(async (p) => Array.from(await p.data())));
      tf.dispose(Object.values(zeros));
      optimizer.dispose();
      lin.dispose();
      ln.dispose();
      after[0].forEach((v, i) => assert.ok(Math.abs(v - before[0][i] * 0.95) < 1e-7, "the weight matrix decays"));
      for (const i of [1, 2, 3]) assert.deepEqual(after[i], before[i], "biases and LayerNorm's vectors do not");
    });
  });
}

test("an allocation beyond WebAssembly's 4 GiB is an EngineOutOfMemory error, not a tensor at address 0", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const row = tf.zeros([2 ** 20]);
  assert.throws(() => tf.tile(row, [1025]), (e: Error) => e instanceof EngineOutOfMemory && /ran out of memory: WebAssembly's heap holds at most 4 GiB/.test(e.message) && /microBatches/.test(e.message));
  row.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("checkStepMemory: a step that fits passes; one that does not names the parts that fit, before anything trains", async () => {
  await backend();
  const small = tiny();
  await checkStepMemory(small, split.train, { batchSize: 4, blockSize: 8 }, 1);
  small.dispose();
  const wide = new GPTLanguageModel({ vocabSize: 20, blockSize: 256, nEmbd: 64, nHead: 4, nLayer: 2 }, new Rng(1));
  const data = Int32Array.from({ length: 5000 }, (_, i) => i % 20);
  const before = tf.memory().numTensors;
  await assert.rejects(checkStepMemory(wide, data, { batchSize: 4096, blockSize: 256 }, 1), (e: Error) =>
    e instanceof StepTooLarge && e.microBatches !== undefined && e.microBatches > 1 && 4096 % e.microBatches === 0);
  assert.equal(tf.memory().numTensors, before);
  wide.dispose();
});
