/**
 * The native CPU kernels change the speed of training, not its maths: the fused AdamW equals the element-wise update
 * bit for bit, and 50 seeded steps of the lecture's CPU model give the same losses on both routes (within 1e-4).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { AdamW, CharTokenizer, GPTLanguageModel, Rng, getBatch, loadTinyShakespeare, trainStep, trainValSplit } from "@build-gpt/lib";
import { nativeKernels, withNativeKernels } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const skip = nativeKernels() ? false : "the native kernels do not load here";
/** The lecture notebook's final model (benchmark model A). */
const A = { nEmbd: 64, nHead: 4, nLayer: 4, blockSize: 32, attention: "batched" as const };
const BATCH = 16;

/** Trains model A from seed 1337 for `steps` steps with the native kernels on or off; returns each step's loss. */
async function trajectory(native: boolean, steps: number): Promise<{ losses: number[]; tensors: number[] }> {
  await backend("wasm");
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const { train } = trainValSplit(tokenizer.encode(text));
  return withNativeKernels(native, async () => {
    const rng = new Rng(1337);
    const model = new GPTLanguageModel({ vocabSize: tokenizer.vocabSize, ...A }, rng);
    const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
    const losses: number[] = [];
    const tensors: number[] = [];
    for (let i = 0; i < steps; i++) {
      const { x, y } = getBatch(train, BATCH, A.blockSize, rng);
      try {
        losses.push(await trainStep(model, optimizer, x, y));
      } finally {
        tf.dispose([x, y]);
      }
      tensors.push(tf.memory().numTensors);
    }
    model.dispose();
    optimizer.dispose();
    return { losses, tensors };
  });
}

test("50 seeded steps of model A: the native kernels' losses match the WebAssembly route's within 1e-4", { skip }, async () => {
  const fast = await trajectory(true, 50);
  const reference = await trajectory(false, 50);
  const worst = Math.max(...fast.losses.map((l, i) => Math.abs(l - reference.losses[i])));
  assert.ok(worst <= 1e-4, `largest loss difference ${worst}`);
  console.log(`largest loss difference over 50 steps: ${worst}`);
  assert.ok(fast.losses[49] < fast.losses[0] - 0.5, "the model learns"); // from ~4.2 to ~3
  // No tensor is left behind by a step: the count is flat from the second step on.
  assert.deepEqual(new Set(fast.tensors.slice(1)).size, 1, `tensor counts ${[...new Set(fast.tensors)]}`);
});

test("the fused AdamW update equals the element-wise one bit for bit", { skip }, async () => {
  await backend("wasm");
  const run = (native: boolean) =>
    withNativeKernels(native, () => {
      const rng = new Rng(5);
      const p = tf.variable(tf.randomNormal([37, 11], 0, 1, "float32", rng.seed()));
      const optimizer = new AdamW([p], { lr: 3e-3, weightDecay: 0.1 });
      for (let step = 0; step < 5; step++) {
        const g = tf.randomNormal([37, 11], 0, 1, "float32", rng.seed());
        optimizer.step({ [p.name]: g });
        g.dispose();
      }
      const out = Array.from(p.dataSync());
      optimizer.dispose();
      p.dispose();
      return out;
    });
  assert.deepEqual(run(true), run(false));
});

test("without the native kernels (GPT_NATIVE=0) the backend line says so in one line", async () => {
  const script = `
    const L = require("@build-gpt/lib");
    const I = require("@build-gpt/lib/internal");
    L.initBackend().then((info) => { console.log(info.description); console.log(String(I.nativeKernels())); });`;
  const run = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, GPT_NATIVE: "0" }, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Backend: wasm .*native CPU kernels off \(GPT_NATIVE=0\)/);
  assert.match(run.stdout, /^undefined$/m);
});
