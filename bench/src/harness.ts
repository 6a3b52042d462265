/**
 * The benchmark's measurements on our side: training steps of a registry configuration (alone, or taking turns with
 * PyTorch's processes), generation, a ladder step's full-settings time, the machine's own steadiness, and the seeded
 * run that the maths and leak checks compare.
 */
import * as tf from "@tensorflow/tfjs";
import { AdamW, GPTLanguageModel, Rng, configs, generate, getBatch, trainStep } from "@build-gpt/lib";
import { TerminalBar, optimizerFor } from "@build-gpt/lib/internal";
import { labelOf } from "./models";
import type { TorchYardstick } from "./torch";

/** Median, min and max of step times, in ms. */
export interface Spread {
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/** One model's training steps, timed. */
export interface Timing extends Spread {
  name: string;
  params: number;
  tokensPerSec: number;
  peakRssMB: number;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const spread = (times: number[]): Spread => ({ medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) });
export const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** One configuration's training, kept between turns: its weights, optimizer and batches. */
export class TrainingRun {
  readonly model: GPTLanguageModel;
  private readonly optimizer: AdamW;
  private readonly rng = new Rng(1337);
  peakRss = process.memoryUsage().rss;
  done = 0;

  constructor(readonly config: configs.Config, private readonly data: Int32Array, vocabSize: number) {
    this.model = new GPTLanguageModel(configs.gptConfigOf(config, vocabSize), this.rng);
    this.optimizer = optimizerFor(config, this.model);
  }

  /** Takes n training steps; returns each one's time in ms. `bar` shows them as steps of `total`. */
  async steps(n: number, bar?: TerminalBar, total = n): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const { x, y } = getBatch(this.data, this.config.batchSize, this.config.blockSize, this.rng);
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

  /** The training steps' spread and throughput. */
  timing(times: number[]): Timing {
    const s = spread(times);
    const tokensPerSec = (this.config.batchSize * this.config.blockSize) / (s.medianMs / 1000);
    return { name: labelOf(this.config), params: this.model.numParameters(), ...s, tokensPerSec, peakRssMB: this.peakRss / 2 ** 20 };
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}

/** Times `steps` training steps after `warmup` untimed ones. */
export async function timeTraining(c: configs.Config, data: Int32Array, vocabSize: number, steps: number, warmup: number): Promise<Timing> {
  const run = new TrainingRun(c, data, vocabSize);
  const bar = new TerminalBar(`model ${labelOf(c)}`, { keep: false });
  try {
    await run.steps(warmup, bar, warmup + steps);
    return run.timing(await run.steps(steps, bar, warmup + steps));
  } finally {
    bar.finish();
    run.dispose();
  }
}

/** Turns ours and each PyTorch take, in the benchmark's main comparison. */
export const TURNS = 8;
/**
 * A pause before each side's turn: the other side's threads may still be spinning, waiting for work that will not come
 * (PyTorch's OpenMP threads spin for a while after each parallel region, ours for up to 2 ms), and would take cores.
 */
const SETTLE_MS = 300;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** Ours and each PyTorch on one model, taking turns; `firsts`: each turn's first step, timed apart. */
export interface TurnsResult {
  ours: Timing;
  theirs: (Spread | undefined)[];
  firsts?: { ours: Spread; theirs: (Spread | undefined)[] };
}

/** The steps of each turn: `steps` shared out over `turns` as evenly as whole steps allow. */
const shareOf = (turn: number, steps: number, turns: number) => Math.floor(((turn + 1) * steps) / turns) - Math.floor((turn * steps) / turns);

/**
 * Times `steps` steps of ours and of each PyTorch, taking turns: a share of the steps of ours, then the same of each
 * PyTorch, TURNS times (gpt.py's model: once a step). Each side warms up first (PyTorch on its first turn). Each turn
 * of models A and B begins with one more step on each side, timed apart (`firsts`): the first step after the other
 * side's turn is the slowest of a turn on both sides, so it measures the taking of turns rather than a training loop's
 * pace.
 */
export async function timeInTurns(c: configs.Config, data: Int32Array, vocabSize: number, steps: number, warmup: number, yardsticks: TorchYardstick[]): Promise<TurnsResult> {
  const run = new TrainingRun(c, data, vocabSize);
  const bar = new TerminalBar(`model ${labelOf(c)} (ours and PyTorch, taking turns)`, { keep: false });
  const turns = Math.min(TURNS, steps);
  // A model with one step a turn has nothing to set apart.
  const extra = yardsticks.length > 0 && steps > turns ? 1 : 0;
  const ours: number[] = [];
  const oursFirst: number[] = [];
  const theirs: number[][] = yardsticks.map(() => []);
  const theirsFirst: number[][] = yardsticks.map(() => []);
  const total = warmup + steps + extra * turns;
  try {
    await run.steps(warmup, bar, total);
    for (let turn = 0; turn < turns; turn++) {
      const n = shareOf(turn, steps, turns) + extra;
      if (yardsticks.length > 0) await settle();
      const mine = await run.steps(n, bar, total);
      oursFirst.push(...mine.splice(0, extra));
      ours.push(...mine);
      for (const [i, y] of yardsticks.entries()) {
        await settle();
        const answer = await y.request<{ times: number[] }>({ model: labelOf(c), steps: n, last: turn === turns - 1 });
        if (!answer) continue;
        theirsFirst[i].push(...answer.times.splice(0, extra));
        theirs[i].push(...answer.times);
      }
    }
    const theirSpread = (times: number[], i: number) => (yardsticks[i].failed || times.length === 0 ? undefined : spread(times));
    return {
      ours: run.timing(ours),
      theirs: theirs.map(theirSpread),
      firsts: extra ? { ours: spread(oursFirst), theirs: theirsFirst.map(theirSpread) } : undefined,
    };
  } finally {
    bar.finish();
    run.dispose();
  }
}

/**
 * A measure of the machine's own steadiness while the benchmark runs: the same fixed JavaScript loop (about 10 ms of
 * arithmetic, no allocation, one thread) timed `n` times. Its max/median is the spread of work that does not vary.
 */
export function hostNoise(n = 40): Spread {
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
 * Trains configuration `c` from seed 1337 for `steps` steps; returns every step's loss and the tensor count after
 * steps 10 and `steps` (the same count means nothing is left behind by a step).
 */
export async function seededRun(c: configs.Config, data: Int32Array, vocabSize: number, steps: number): Promise<{ losses: number[]; tensorsAt10: number; tensorsAtEnd: number }> {
  const rng = new Rng(1337);
  const model = new GPTLanguageModel(configs.gptConfigOf(c, vocabSize), rng);
  const optimizer = optimizerFor(c, model);
  const losses: number[] = [];
  let tensorsAt10 = NaN;
  for (let i = 1; i <= steps; i++) {
    const { x, y } = getBatch(data, c.batchSize, c.blockSize, rng);
    losses.push(await trainStep(model, optimizer, x, y));
    tf.dispose([x, y]);
    if (i === 10) tensorsAt10 = tf.memory().numTensors;
  }
  const tensorsAtEnd = tf.memory().numTensors;
  model.dispose();
  optimizer.dispose();
  return { losses, tensorsAt10, tensorsAtEnd };
}

/** Characters per second that configuration `c`'s model (untrained) generates, one at a time. */
export async function timeGeneration(c: configs.Config, vocabSize: number, chars: number): Promise<number> {
  const model = new GPTLanguageModel(configs.gptConfigOf(c, vocabSize), new Rng(1));
  await generate(model, [0], 10, { rng: new Rng(2) }); // warm-up
  const t0 = performance.now();
  await generate(model, [0], chars, { rng: new Rng(2) });
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return chars / seconds;
}

/** Steps of each ladder model the projection times, after its warm-up ones: enough that the median repeats. */
export const PROJECTION_STEPS = 16;
export const PROJECTION_WARMUP = 20;

/** A configuration's full-settings time: its median training step and evaluation batch, and the total they give. */
export interface Projection {
  stepMs: number;
  evalMs: number;
  seconds: number;
  /** The training steps' spread (stepMs is its median). */
  steps: Spread;
}

/** Evaluations train() runs at a configuration's settings: every evalInterval steps, and at step 0. */
export const evaluationsOf = (c: configs.Config) => Math.floor(c.maxIters / c.evalInterval) + 1;

/** maxIters steps and each evaluation's evalIters batches of both splits, at the measured times. */
export const projectedSeconds = (c: configs.Config, stepMs: number, evalMs: number) =>
  (c.maxIters * stepMs + evaluationsOf(c) * 2 * c.evalIters * evalMs) / 1000;

/**
 * Configuration `c`'s full-settings time, projected from this machine's median training step and evaluation batch:
 * maxIters steps and (maxIters / evalInterval + 1) evaluations of evalIters batches of each split, as train() runs them.
 */
export async function projectFullSettings(c: configs.Config, data: Int32Array, vocabSize: number, steps = PROJECTION_STEPS, warmup = PROJECTION_WARMUP): Promise<Projection> {
  const rng = new Rng(1337);
  const model = configs.build(c, vocabSize, rng);
  const optimizer = optimizerFor(c, model);
  const train: number[] = [];
  const evaluate: number[] = [];
  for (let i = 0; i < steps + warmup; i++) {
    const { x, y } = getBatch(data, c.batchSize, c.blockSize, rng);
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
  const [stepMs, evalMs] = [median(train), median(evaluate)];
  return { stepMs, evalMs, seconds: projectedSeconds(c, stepMs, evalMs), steps: spread(train) };
}
