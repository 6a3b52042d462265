#!/usr/bin/env node
/**
 * npm run bench [-- --steps 40 --warmup 120 --leak-steps 1000 --no-torch --avx2-only]
 * Times training steps (forward, backward, AdamW) of the course's CPU-sized models, the full gpt.py model for a few
 * steps, and generation, on the native CPU kernels, against every PyTorch installed (Debian's python3-torch; a
 * PyTorch 2.x in .venv-bench from `npm run setup:bench`, eagerly and with torch.compile; bench/torch_bench.py), taking
 * turns with them (./yardstick), and prints each and ours ÷ the fastest, with this machine's own spread (a fixed loop);
 * each turn's first step is timed apart.
 * Then the same models on the older instruction set (AVX2), without the fused kernels, and on the WebAssembly kernels
 * alone (the route before the native ones). Then checks that the routes' 50 seeded losses agree within 1e-4, and that
 * training leaks no tensors (the count after step 10 and after step 1000). Also projects each ladder step's time at
 * full settings (the notebook's final model: 5000 steps) from its measured training step and evaluation batch.
 * --avx2-only stands in for a machine without AVX-512: the whole run on our AVX2 path, each PyTorch held to AVX2.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../engine/backend";
import { nativeKernels, nativeKernelsStatus, withNativeIsa, withNativeKernels } from "../engine/native-kernels";
import { withFusedKernels } from "../engine/fused-kernels";
import { loadTinyShakespeare } from "../data/dataset";
import { CharTokenizer } from "../data/tokenizer";
import { getBatch, trainValSplit } from "../data/batches";
import { GPTLanguageModel, type GPTConfig } from "../models/gpt";
import { generate } from "../models/generate";
import { Rng } from "../random";
import { AdamW } from "../train/adamw";
import { trainStep } from "../train/step";
import { TerminalBar } from "../progress/terminal";
import { build, gptConfigOf, ladder as LADDER, named as configNamed, type Config as LadderStep } from "../configs";
import { helpText, parseCommand, runMain, UsageError, type CommandSpec } from "./args";
import { AVX2_ONLY_ENV, startYardsticks, type TorchYardstick } from "./yardstick";

export interface BenchModel {
  name: string;
  config: Omit<GPTConfig, "vocabSize">;
  batchSize: number;
  learningRate: number;
  /** Steps to time (after the warm-up); the full model gets few. */
  steps?: number;
}

/** A registry configuration as the benchmark times it (batched attention). */
function benchModel(name: string, configName: string, extra: Partial<BenchModel> = {}): BenchModel {
  const c = configNamed(configName);
  const { vocabSize: _, ...config } = gptConfigOf({ ...c, attention: "batched" }, 1);
  return { name, config, batchSize: c.batchSize, learningRate: c.learningRate, ...extra };
}

export const BENCH_MODELS: BenchModel[] = [
  benchModel("A", "notebook-final"),
  benchModel("B", "nanogpt-cpu"),
  // gpt.py trains on batches of 64; on the wasm backend a batch that large runs out of WebAssembly memory (abort at 16),
  // so it is timed at batch 8 and the 5000-step projection scales to 64.
  benchModel("gpt.py", "gpt-py", { batchSize: 8, steps: 3 }),
];
/** gpt.py's own batch size, for the projection. */
const GPT_PY_BATCH = configNamed("gpt-py").batchSize;

/**
 * Warm-up steps before the timed ones (both sides). Ours runs its first steps up to twice as slowly as later ones,
 * while V8 compiles tfjs's JavaScript (its bookkeeping around each kernel) to optimised code: model A's medians over
 * windows of ten steps fall from 27-29 ms to about 13 ms by step 80-100, and taking turns after only 30 warm-up steps
 * timed ours at 18-23 ms in the first rounds against 12-13 ms later. A lesson trains for thousands of steps, so the
 * benchmark times the steps after that.
 */
const DEFAULT_WARMUP = 120;
/**
 * Timed steps of models A and B. This machine's speed drifts over seconds (a fixed loop's max/median reaches 2), so a
 * median of 20 steps moved by a tenth from run to run; 40, in 8 turns, moves less.
 */
const DEFAULT_STEPS = 40;

export const BENCH_COMMAND: CommandSpec = {
  name: "bench",
  summary: "Times training steps and generation of the course's models (ours, and PyTorch's when installed), and checks for leaks.",
  options: {
    steps: { type: "positive", help: `training steps timed per model, after the warm-up (default ${DEFAULT_STEPS}; gpt.py's model: 3)` },
    warmup: { type: "count", help: `warm-up training steps, not timed (default ${DEFAULT_WARMUP}; gpt.py's model: 1)` },
    "leak-steps": { type: "positive", help: "training steps of the leak check (default 1000; at least 10)" },
    "no-torch": { type: "boolean", help: "skip the PyTorch comparison" },
    "avx2-only": { type: "boolean", help: "as on a CPU without AVX-512: ours on its AVX2 path (GPT_NATIVE_ISA=avx2), PyTorch held to AVX2 (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS)" },
  },
};

interface Timing {
  name: string;
  params: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  tokensPerSec: number;
  peakRssMB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One benchmark model's training, kept between turns: its weights, optimizer and batches. */
class TrainingRun {
  readonly model: GPTLanguageModel;
  private readonly optimizer: AdamW;
  private readonly rng = new Rng(1337);
  peakRss = process.memoryUsage().rss;
  done = 0;

  constructor(readonly m: BenchModel, private readonly data: Int32Array, vocabSize: number) {
    this.model = new GPTLanguageModel({ vocabSize, attention: "batched", ...m.config }, this.rng);
    this.optimizer = new AdamW(this.model.parameters(), { lr: m.learningRate });
  }

  /** Takes n training steps; returns each one's time in ms. `bar` shows them as steps of `total`. */
  async steps(n: number, bar?: TerminalBar, total = n): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const { x, y } = getBatch(this.data, this.m.batchSize, this.m.config.blockSize, this.rng);
      const t0 = performance.now();
      await trainStep(this.model, this.optimizer, x, y);
      const dt = performance.now() - t0;
      tf.dispose([x, y]);
      times.push(dt);
      this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
      bar?.update(++this.done, total, `step ${this.done}/${total} · ${fmt(dt)} ms`);
    }
    return times;
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}

/** Median, min and max of step times. */
interface Spread {
  medianMs: number;
  minMs: number;
  maxMs: number;
}

const spread = (times: number[]): Spread => ({ medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) });

function timingOf(run: TrainingRun, times: number[]): Timing {
  const { m } = run;
  const s = spread(times);
  return { name: m.name, params: run.model.numParameters(), ...s, tokensPerSec: (m.batchSize * m.config.blockSize) / (s.medianMs / 1000), peakRssMB: run.peakRss / 2 ** 20 };
}

/** Times `steps` training steps after `warmup` untimed ones. */
async function timeTraining(m: BenchModel, data: Int32Array, vocabSize: number, steps: number, warmup: number): Promise<Timing> {
  const run = new TrainingRun(m, data, vocabSize);
  const bar = new TerminalBar(`model ${m.name}`, { keep: false });
  try {
    await run.steps(warmup, bar, warmup + steps);
    return timingOf(run, await run.steps(steps, bar, warmup + steps));
  } finally {
    bar.finish();
    run.dispose();
  }
}

/** Turns ours and each PyTorch take, in the benchmark's main comparison. */
const TURNS = 8;
/**
 * A pause before each side's turn: the other side's threads may still be spinning, waiting for work that will not come
 * (PyTorch's OpenMP threads spin for a while after each parallel region, ours for up to 2 ms), and would take cores.
 */
const SETTLE_MS = 300;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * Times `steps` steps of ours and of each PyTorch, taking turns: a share of the steps of ours, then the same of each
 * PyTorch, TURNS times (gpt.py's model: once a step). Each side warms up first (PyTorch on its first turn). Each turn
 * of models A and B begins with one more step on each side, timed apart (`first`): the first step after the other
 * side's turn is the slowest of a turn on both sides (ours by 2-12 ms at A's size, whether the other process was
 * PyTorch or a plain Python loop, and even after a 1.5 s pause), so it measures the turns, not a training loop's pace.
 */
async function timeInTurns(m: BenchModel, data: Int32Array, vocabSize: number, steps: number, warmup: number, yardsticks: TorchYardstick[]): Promise<{ ours: Timing; theirs: (Spread | undefined)[]; firsts?: { ours: Spread; theirs: (Spread | undefined)[] } }> {
  const run = new TrainingRun(m, data, vocabSize);
  const bar = new TerminalBar(`model ${m.name} (ours and PyTorch, taking turns)`, { keep: false });
  const ours: number[] = [];
  const theirs: number[][] = yardsticks.map(() => []);
  const turns = Math.min(TURNS, steps);
  // gpt.py's model takes one step a turn (a step is a second or more): nothing to set apart.
  const extra = yardsticks.length > 0 && steps > turns ? 1 : 0;
  const oursFirst: number[] = [];
  const theirsFirst: number[][] = yardsticks.map(() => []);
  const total = warmup + steps + extra * turns;
  try {
    await run.steps(warmup, bar, total);
    for (let turn = 0; turn < turns; turn++) {
      const n = Math.floor(((turn + 1) * steps) / turns) - Math.floor((turn * steps) / turns);
      if (yardsticks.length > 0) await settle();
      const mine = await run.steps(n + extra, bar, total);
      oursFirst.push(...mine.splice(0, extra));
      ours.push(...mine);
      for (const [i, y] of yardsticks.entries()) {
        await settle();
        const answer = await y.request<{ times: number[] }>({ model: m.name, steps: n + extra, last: turn === turns - 1 });
        if (answer) {
          theirsFirst[i].push(...answer.times.splice(0, extra));
          theirs[i].push(...answer.times);
        }
      }
    }
    const theirSpread = (times: number[], i: number) => (yardsticks[i].failed || times.length === 0 ? undefined : spread(times));
    return {
      ours: timingOf(run, ours),
      theirs: theirs.map(theirSpread),
      firsts: extra ? { ours: spread(oursFirst), theirs: theirsFirst.map(theirSpread) } : undefined,
    };
  } finally {
    bar.finish();
    run.dispose();
  }
}

/**
 * A measure of this machine's own steadiness while the benchmark runs: the same fixed JavaScript loop (about 10 ms of
 * arithmetic, no allocation, one thread) timed `n` times. Its max/median is the spread of work that does not vary.
 */
function hostNoise(n = 40): Spread {
  const a = new Float64Array(1 << 16).fill(1.0001);
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    for (let k = 0; k < 100; k++) for (let i = 0; i < a.length; i++) sink += a[i] * a[(i * 7) & 65535];
    times.push(performance.now() - t0);
  }
  if (sink < 0) console.log(sink); // keeps the loop
  return spread(times);
}

/**
 * Trains model A from seed 1337 for `steps` steps; returns every step's loss and the tensor count after steps 10 and
 * `steps` (the same count means nothing is left behind by a step).
 */
async function seededRun(data: Int32Array, vocabSize: number, steps: number): Promise<{ losses: number[]; tensorsAt10: number; tensorsAtEnd: number }> {
  const m = BENCH_MODELS[0];
  const rng = new Rng(1337);
  const model = new GPTLanguageModel({ vocabSize, attention: "batched", ...m.config }, rng);
  const optimizer = new AdamW(model.parameters(), { lr: m.learningRate });
  const losses: number[] = [];
  let tensorsAt10 = NaN;
  for (let i = 1; i <= steps; i++) {
    const { x, y } = getBatch(data, m.batchSize, m.config.blockSize, rng);
    losses.push(await trainStep(model, optimizer, x, y));
    tf.dispose([x, y]);
    if (i === 10) tensorsAt10 = tf.memory().numTensors;
  }
  const tensorsAtEnd = tf.memory().numTensors;
  model.dispose();
  optimizer.dispose();
  return { losses, tensorsAt10, tensorsAtEnd };
}

async function timeGeneration(vocabSize: number, chars: number): Promise<number> {
  const model = new GPTLanguageModel({ vocabSize, attention: "batched", ...BENCH_MODELS[0].config }, new Rng(1));
  await generate(model, [0], 10, { rng: new Rng(2) }); // warm-up
  const t0 = performance.now();
  await generate(model, [0], chars, { rng: new Rng(2) });
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return chars / seconds;
}

/** Steps of each ladder model the projection times, after its warm-up ones (8 after 10 moved by a third between runs). */
const PROJECTION_STEPS = 16;
const PROJECTION_WARMUP = 20;

/**
 * A ladder step's full-settings time, projected from this machine's median training step and evaluation batch:
 * maxIters steps and (maxIters / evalInterval + 1) evaluations of evalIters batches of each split, as train() runs them.
 */
async function projectFullSettings(step: LadderStep, data: Int32Array, vocabSize: number, steps = PROJECTION_STEPS): Promise<{ stepMs: number; evalMs: number; seconds: number }> {
  const rng = new Rng(1337);
  const model = build(step, vocabSize, rng);
  const optimizer = new AdamW(model.parameters(), { lr: step.learningRate });
  const train: number[] = [];
  const evaluate: number[] = [];
  const warmup = PROJECTION_WARMUP; // the JavaScript is warm by now (the models before); these settle the new model's memory
  for (let i = 0; i < steps + warmup; i++) {
    const { x, y } = getBatch(data, step.batchSize, step.blockSize, rng);
    let t0 = performance.now();
    await trainStep(model, optimizer, x, y);
    if (i >= warmup) train.push(performance.now() - t0);
    t0 = performance.now();
    await model.inEvalMode(async () => {
      const loss = model.loss(x, y);
      await loss.data();
      loss.dispose();
    });
    if (i >= warmup) evaluate.push(performance.now() - t0);
    tf.dispose([x, y]);
  }
  model.dispose();
  optimizer.dispose();
  const evaluations = Math.floor(step.maxIters / step.evalInterval) + 1;
  const seconds = (step.maxIters * median(train) + evaluations * 2 * step.evalIters * median(evaluate)) / 1000;
  return { stepMs: median(train), evalMs: median(evaluate), seconds };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main() {
  const args = parseCommand(process.argv.slice(2), BENCH_COMMAND);
  if (args.help) return console.log(helpText(BENCH_COMMAND));
  const steps = (args.values.steps as number | undefined) ?? DEFAULT_STEPS;
  const warmup = (args.values.warmup as number | undefined) ?? DEFAULT_WARMUP;
  const leakSteps = (args.values["leak-steps"] as number | undefined) ?? 1000;
  if (leakSteps < 10) throw new UsageError(`--leak-steps must be at least 10 (the check compares the tensor count after step 10 with the last), got ${leakSteps}.`);
  const avx2Only = args.values["avx2-only"] === true;
  if (avx2Only) process.env.GPT_NATIVE_ISA = "avx2"; // read when the native kernels load: the whole run, as on a CPU without AVX-512
  const backend = await initBackend();
  console.log(backend.description);
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const { train } = trainValSplit(tokenizer.encode(text));
  const vocab = tokenizer.vocabSize;
  const native = backend.name === "wasm" && nativeKernels() !== undefined;
  if (avx2Only) {
    if (!native) throw new UsageError(`--avx2-only needs the native CPU kernels: ${nativeKernelsStatus()}`);
    console.log(`--avx2-only: ours on the AVX2 path; PyTorch with ${Object.entries(AVX2_ONLY_ENV).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }

  // PyTorch first starts (imports torch) in its own processes, then waits while ours runs: the main comparison takes
  // turns (timeInTurns), so both sides see the same moments of this machine.
  const torchSpec = { models: BENCH_MODELS.map((m) => ({ ...m, steps: m.steps ?? steps })), warmup, vocabSize: vocab };
  const torch = args.values["no-torch"] ? "skipped (--no-torch)" : await startYardsticks(torchSpec, avx2Only ? AVX2_ONLY_ENV : {});
  const yardsticks = typeof torch === "string" ? [] : torch;
  const stepsOf = (m: BenchModel) => m.steps ?? steps;
  const warmupOf = (m: BenchModel) => (m.steps ? 1 : warmup);
  const noise = hostNoise();
  const timings: Timing[] = [];
  const torchTimes: (Spread | undefined)[][] = [];
  const firstSteps: { name: string; ours: Spread; theirs: (Spread | undefined)[] }[] = [];
  for (const m of BENCH_MODELS) {
    const { ours, theirs, firsts } = await timeInTurns(m, train, vocab, stepsOf(m), warmupOf(m), yardsticks);
    timings.push(ours);
    torchTimes.push(theirs);
    if (firsts) firstSteps.push({ name: m.name, ...firsts });
  }
  // Each ladder step's full-settings time, projected on the route the lessons take (before the other routes below).
  const ladder: { step: LadderStep; seconds: number; stepMs: number; evalMs: number }[] = [];
  for (const step of LADDER) ladder.push({ step, ...(await projectFullSettings(step, train, vocab)) });
  const timeAll = async () => {
    const out: Timing[] = [];
    for (const m of BENCH_MODELS) out.push(await timeTraining(m, train, vocab, stepsOf(m), warmupOf(m)));
    return out;
  };
  // The older instruction set, where the matmul runs on AVX-512: the same models with GPT_NATIVE_ISA=avx2's path.
  const avx2 = native && nativeKernels()!.isa() === "AVX-512" ? await withNativeIsa("avx2", timeAll) : undefined;
  // The native kernels without the fused ones (GPT_FUSED=0): LayerNorm, the causal softmax and cross-entropy op by op.
  const unfused = native ? await withFusedKernels(false, timeAll) : undefined;
  // The route before the native kernels: the same models on the WebAssembly kernels alone.
  const before = native ? await withNativeKernels(false, timeAll) : undefined;
  const charsPerSec = await timeGeneration(vocab, 500);
  const torchGeneration: string[] = [];
  for (const y of yardsticks) {
    const answer = await y.request<{ charsPerSec: number | null }>({ generate: 500 });
    if (answer?.charsPerSec) torchGeneration.push(`${y.label} ${fmt(answer.charsPerSec, 0)}`);
    y.close();
  }

  console.log(`\ntraining step (forward + backward + AdamW), median of ${steps} after ${warmup} warm-up steps; gpt.py: ${BENCH_MODELS[2].steps} steps at batch ${BENCH_MODELS[2].batchSize}`);
  console.log(`ours: ${backend.name === "wasm" ? nativeKernelsStatus() : backend.name}, fused kernels on; unfused: GPT_FUSED=0; before: the WebAssembly kernels alone (GPT_NATIVE=0)`);
  const head = ["model", "params", "ms/step", "min-max", "max/median", "tokens/s", "peak RSS MB", ...(avx2 ? ["AVX2 ms/step"] : []), ...(unfused ? ["unfused ms/step"] : []), "before ms/step"];
  console.log(head.join(" | "));
  console.log(head.map(() => "---").join(" | "));
  timings.forEach((t, i) => {
    console.log([t.name, t.params, fmt(t.medianMs), `${fmt(t.minMs)}-${fmt(t.maxMs)}`, fmt(t.maxMs / t.medianMs, 2), Math.round(t.tokensPerSec),
      fmt(t.peakRssMB, 0), ...(avx2 ? [fmt(avx2[i].medianMs)] : []), ...(unfused ? [fmt(unfused[i].medianMs)] : []), before ? fmt(before[i].medianMs) : "-"].join(" | "));
  });
  console.log(`this machine's own spread, a fixed ${fmt(noise.medianMs)} ms JavaScript loop timed 40 times: ${fmt(noise.minMs)}-${fmt(noise.maxMs)} ms, max/median ${fmt(noise.maxMs / noise.medianMs, 2)}`);
  // PyTorch: each installation and mode, its median and min-max, and ours against the fastest of them.
  const ran = yardsticks.map((y, j) => ({ y, j })).filter(({ j }) => torchTimes.every((row) => row[j] !== undefined));
  if (ran.length > 0) {
    console.log(`\nPyTorch, same models and steps, taking turns with ours (${TURNS} turns a model; gpt.py's: one a step), all ${ran[0].y.info!.threads} threads; ratios against the fastest PyTorch for each model`);
    const torchHead = ["model", "ours ms/step (min-max)", ...ran.map(({ y }) => `${y.label} ms/step (min-max)`), "fastest", "ours/fastest", ...(before ? ["before/fastest"] : [])];
    console.log(torchHead.join(" | "));
    console.log(torchHead.map(() => "---").join(" | "));
    timings.forEach((t, i) => {
      const theirs = ran.map(({ j }) => torchTimes[i][j]!);
      const best = theirs.reduce((a, b, k) => (b.medianMs < theirs[a].medianMs ? k : a), 0);
      const ratio = (ms: number) => fmt(ms / theirs[best].medianMs, 2);
      console.log([t.name, `${fmt(t.medianMs)} (${fmt(t.minMs)}-${fmt(t.maxMs)})`, ...theirs.map((r) => `${fmt(r.medianMs)} (${fmt(r.minMs)}-${fmt(r.maxMs)})`), ran[best].y.label,
        ratio(t.medianMs), ...(before ? [ratio(before[i].medianMs)] : [])].join(" | "));
    });
    const range = (s: Spread) => `${fmt(s.medianMs)} (${fmt(s.minMs)}-${fmt(s.maxMs)})`;
    console.log(`each turn's first step, timed apart from the medians above (the first after the other side's turn), median (min-max) ms: ` +
      firstSteps.map((f) => `${f.name}: ours ${range(f.ours)}, ${ran.map(({ y, j }) => `${y.label} ${f.theirs[j] ? range(f.theirs[j]!) : "-"}`).join(", ")}`).join("; "));
  }
  const full = timings[2];
  const scale = GPT_PY_BATCH / BENCH_MODELS[2].batchSize;
  console.log(`\ngpt.py model (timed at batch ${BENCH_MODELS[2].batchSize}), 5000 steps at batch ${GPT_PY_BATCH}: ` +
    `${fmt((full.medianMs * scale * 5000) / 3.6e6, 1)} hours here (the lecture: about 15 minutes on an A100)`);
  console.log(`\nfull settings, projected from the median of ${PROJECTION_STEPS} training steps and ${PROJECTION_STEPS} evaluation batches after ${PROJECTION_WARMUP} warm-up ones (npm run ladder measures them):`);
  for (const { step, seconds, stepMs, evalMs } of ladder) {
    console.log(`  ${step.name.padEnd(15)} ${String(step.maxIters).padStart(5)} steps × ${fmt(stepMs, 2)} ms + ${Math.floor(step.maxIters / step.evalInterval) + 1} × 2 × ${step.evalIters} evaluations × ${fmt(evalMs, 2)} ms ≈ ${fmt(seconds / 60, 1)} min`);
  }
  console.log(`  the whole ladder ≈ ${fmt(ladder.reduce((a, l) => a + l.seconds, 0) / 60, 1)} min`);
  console.log(`generation, model A, 500 characters: ${fmt(charsPerSec, 0)} chars/s` + (torchGeneration.length ? `; ${torchGeneration.join("; ")} chars/s` : ""));
  if (typeof torch === "string") console.log(`PyTorch: ${torch}`);
  else for (const y of torch) console.log(y.info && !y.failed ? `${y.label}: BLAS ${y.info.blas}, ${y.info.threads} threads${y.info.capability ? `, ATen on ${y.info.capability}` : ""}` : `${y.label}: failed (${y.failed})`);

  // The maths is unchanged: 50 seeded steps give the same losses on both routes.
  if (native) {
    const a = (await seededRun(train, vocab, 50)).losses;
    const b = (await withNativeKernels(false, () => seededRun(train, vocab, 50))).losses;
    const worst = Math.max(...a.map((l, i) => Math.abs(l - b[i])));
    console.log(`\nmaths check, model A, 50 seeded steps: largest |loss(native) - loss(WebAssembly)| = ${worst.toExponential(2)} ` +
      `(${worst <= 1e-4 ? "within" : "NOT within"} 1e-4; final loss ${fmt(a[49], 4)})`);
    const u = (await withFusedKernels(false, () => seededRun(train, vocab, 50))).losses;
    const fusedWorst = Math.max(...a.map((l, i) => Math.abs(l - u[i])));
    console.log(`maths check, fused kernels against unfused (GPT_FUSED=0): largest loss difference ${fusedWorst.toExponential(2)} ` +
      `(${fusedWorst <= 1e-4 ? "within" : "NOT within"} 1e-4)`);
    if (avx2) {
      const c = (await withNativeIsa("avx2", () => seededRun(train, vocab, 50))).losses;
      const same = c.every((l, i) => l === a[i]);
      console.log(`maths check, AVX-512 against AVX2: the 50 losses are ${same ? "the same, bit for bit" : "NOT the same"}`);
    }
  }
  const leak = await seededRun(train, vocab, leakSteps);
  console.log(`tensors after step 10: ${leak.tensorsAt10}; after step ${leakSteps}: ${leak.tensorsAtEnd} ` +
    `(${leak.tensorsAt10 === leak.tensorsAtEnd ? "no leak" : "LEAK"})`);
}

if (require.main === module) runMain(main);
