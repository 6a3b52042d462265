#!/usr/bin/env node
/**
 * npm run bench [-- --steps 20 --warmup 3 --no-torch]
 * Times training steps (forward, backward, AdamW) of the course's CPU-sized models, the full gpt.py model for a few
 * steps, and generation; when PyTorch is installed (Debian's python3-torch), runs the same models in PyTorch in the
 * same run (bench/torch_bench.py) and prints ours ÷ PyTorch.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../engine/backend";
import { loadTinyShakespeare } from "../data/dataset";
import { CharTokenizer } from "../data/tokenizer";
import { getBatch, trainValSplit } from "../data/batches";
import { GPTLanguageModel, type GPTConfig } from "../models/gpt";
import { generate } from "../models/generate";
import { Rng } from "../random";
import { AdamW } from "../train/adamw";
import { trainStep } from "../train/trainer";
import { TerminalBar } from "../progress/terminal";

export interface BenchModel {
  name: string;
  config: Omit<GPTConfig, "vocabSize">;
  batchSize: number;
  learningRate: number;
  /** Steps to time (after the warm-up); the full model gets few. */
  steps?: number;
}

export const BENCH_MODELS: BenchModel[] = [
  { name: "A", config: { nEmbd: 64, nHead: 4, nLayer: 4, blockSize: 32 }, batchSize: 16, learningRate: 1e-3 },
  { name: "B", config: { nEmbd: 128, nHead: 4, nLayer: 4, blockSize: 64 }, batchSize: 12, learningRate: 1e-3 },
  // gpt.py trains on batches of 64; on the wasm backend a batch that large runs out of WebAssembly memory (abort at 16),
  // so it is timed at batch 8 and the 5000-step projection scales to 64.
  { name: "gpt.py", config: { nEmbd: 384, nHead: 6, nLayer: 6, blockSize: 256, dropout: 0.2 }, batchSize: 8, learningRate: 3e-4, steps: 3 },
];
/** gpt.py's own batch size, for the projection. */
const GPT_PY_BATCH = 64;

interface Timing {
  name: string;
  params: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  tokensPerSec: number;
  peakRssMB: number;
}

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeTraining(m: BenchModel, data: Int32Array, vocabSize: number, steps: number, warmup: number): Timing {
  const rng = new Rng(1337);
  const model = new GPTLanguageModel({ vocabSize, attention: "batched", ...m.config }, rng);
  const optimizer = new AdamW(model.parameters(), { lr: m.learningRate });
  const times: number[] = [];
  let peak = process.memoryUsage().rss;
  const bar = new TerminalBar(`model ${m.name}`, { keep: false });
  for (let i = 0; i < warmup + steps; i++) {
    const { x, y } = getBatch(data, m.batchSize, m.config.blockSize, rng);
    const t0 = performance.now();
    trainStep(model, optimizer, x, y);
    const dt = performance.now() - t0;
    tf.dispose([x, y]);
    if (i >= warmup) times.push(dt);
    peak = Math.max(peak, process.memoryUsage().rss);
    bar.update(i + 1, warmup + steps, `${i < warmup ? "warm-up " : ""}step ${i + 1}/${warmup + steps} · ${fmt(dt)} ms`);
  }
  bar.finish();
  const result = {
    name: m.name,
    params: model.numParameters(),
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    tokensPerSec: (m.batchSize * m.config.blockSize) / (median(times) / 1000),
    peakRssMB: peak / 2 ** 20,
  };
  model.dispose();
  optimizer.dispose();
  return result;
}

function timeGeneration(vocabSize: number, chars: number): number {
  const model = new GPTLanguageModel({ vocabSize, attention: "batched", ...BENCH_MODELS[0].config }, new Rng(1));
  generate(model, [0], 10, { rng: new Rng(2) }); // warm-up
  const t0 = performance.now();
  generate(model, [0], chars, { rng: new Rng(2) });
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return chars / seconds;
}

interface TorchResult {
  torch: string;
  blas: string;
  threads: number;
  models: Record<string, { medianMs: number; minMs: number; maxMs: number }>;
  generationCharsPerSec: number;
}

function runTorch(models: BenchModel[], steps: number, warmup: number): TorchResult | string {
  const python = process.env.PYTHON ?? "/usr/bin/python3";
  const probe = spawnSync(python, ["-c", "import torch"], { stdio: "ignore" });
  if (probe.status !== 0) return "PyTorch not found (sudo apt install python3-torch libopenblas0-openmp to compare)";
  const script = path.resolve(__dirname, "..", "..", "..", "bench", "torch_bench.py");
  const spec = JSON.stringify({ models: models.map((m) => ({ ...m, steps: m.steps ?? steps })), warmup, vocabSize: 65, generateChars: 500 });
  const run = spawnSync(python, [script], { input: spec, encoding: "utf8", maxBuffer: 1 << 24 });
  if (run.status !== 0) return `PyTorch run failed: ${run.stderr.trim().split("\n").pop()}`;
  return JSON.parse(run.stdout) as TorchResult;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main() {
  const argv = process.argv.slice(2);
  const steps = option(argv, "--steps", 20);
  const warmup = option(argv, "--warmup", 3);
  const backend = await initBackend();
  console.log(backend.description);
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const { train } = trainValSplit(tokenizer.encode(text));

  const timings = BENCH_MODELS.map((m) => timeTraining(m, train, tokenizer.vocabSize, m.steps ?? steps, m.steps ? 1 : warmup));
  const charsPerSec = timeGeneration(tokenizer.vocabSize, 500);
  const torch = argv.includes("--no-torch") ? "skipped (--no-torch)" : runTorch(BENCH_MODELS, steps, warmup);

  console.log(`\ntraining step (forward + backward + AdamW), median of ${steps} after ${warmup} warm-up steps; gpt.py: ${BENCH_MODELS[2].steps} steps at batch ${BENCH_MODELS[2].batchSize}`);
  const head = ["model", "params", "ms/step", "min-max", "tokens/s", "peak RSS MB", "torch ms/step", "ours/torch"];
  console.log(head.join(" | "));
  console.log(head.map(() => "---").join(" | "));
  for (const t of timings) {
    const theirs = typeof torch === "string" ? undefined : torch.models[t.name];
    console.log([t.name, t.params, fmt(t.medianMs), `${fmt(t.minMs)}-${fmt(t.maxMs)}`, Math.round(t.tokensPerSec), fmt(t.peakRssMB, 0),
      theirs ? fmt(theirs.medianMs) : "-", theirs ? fmt(t.medianMs / theirs.medianMs, 2) : "-"].join(" | "));
  }
  const full = timings[2];
  const scale = GPT_PY_BATCH / BENCH_MODELS[2].batchSize;
  console.log(`\ngpt.py model (timed at batch ${BENCH_MODELS[2].batchSize}), 5000 steps at batch ${GPT_PY_BATCH}: ` +
    `${fmt((full.medianMs * scale * 5000) / 3.6e6, 1)} hours here (the lecture: about 15 minutes on an A100)`);
  console.log(`generation, model A, 500 characters: ${fmt(charsPerSec, 0)} chars/s` +
    (typeof torch === "string" ? "" : `; PyTorch ${fmt(torch.generationCharsPerSec, 0)} chars/s`));
  if (typeof torch === "string") console.log(`PyTorch: ${torch}`);
  else console.log(`PyTorch ${torch.torch}, BLAS: ${torch.blas}, threads: ${torch.threads}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
