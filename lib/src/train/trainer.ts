/** The training loop of the lecture: sample a batch, compute the loss, backpropagate, update; evaluate now and then. */
import * as tf from "@tensorflow/tfjs";
import { checkTokenIds, firstOutside, getBatch, type Split } from "../data/batches";
import type { LanguageModel } from "../models/language-model";
import type { TrainProgress, TrainStatus } from "../progress/status";
import { Rng } from "../random";
import type { AdamW } from "./adamw";
import { nextTurn, TrainingInterrupted, watchInterrupts, type InterruptWatch } from "./interrupt";
import type { BatchShape, EvalPoint, TrainResult } from "./types";

export type { BatchShape, EvalPoint, TrainResult } from "./types";

/**
 * Thrown at the first loss that is not a finite number (NaN, ±Infinity): training has diverged, and every later step
 * would only spread the NaN. The update of that step is not applied.
 */
export class TrainingDiverged extends Error {
  override readonly name = "TrainingDiverged";

  constructor(
    /** The step whose loss was not finite (1 = the first step). */
    readonly step: number,
    /** The loss: NaN, Infinity or -Infinity. */
    readonly loss: number,
    /** The learning rate in use. */
    readonly lr: number,
    /** What train() recorded before it stopped (undefined when thrown by trainStep alone). */
    readonly result?: TrainResult,
    what = `the loss is ${loss} at step ${step}`,
  ) {
    super(
      `Training diverged: ${what}. Usual causes: the learning rate (lr ${lr}) is too large for this model ` +
        `(the lecture uses 1e-2 for the bigram model, 1e-3 for the small transformers, 3e-4 for gpt.py's); ` +
        `weights that were already not finite (a damaged checkpoint, or set by hand). Lower lr and train again from ` +
        `fresh weights or a good checkpoint.`,
    );
  }
}

/** Reads a list of scalars with one asynchronous read (one round trip on a GPU). */
async function readScalars(scalars: tf.Scalar[]): Promise<Float32Array> {
  if (scalars.length === 1) return (await scalars[0].data()) as Float32Array;
  const stacked = tf.stack(scalars);
  try {
    return (await stacked.data()) as Float32Array;
  } finally {
    stacked.dispose();
  }
}

function checkMicroBatches(batchSize: number, microBatches: number): void {
  if (!(Number.isInteger(microBatches) && microBatches >= 1 && batchSize % microBatches === 0)) {
    throw new Error(`microBatches must be a positive integer that divides the batch size ${batchSize}, got ${microBatches}.`);
  }
}

/** x and y: (B, T) int32 token ids of the same shape. */
function checkBatch(x: tf.Tensor, y: tf.Tensor): void {
  for (const [name, t] of [["x (inputs)", x], ["y (targets)", y]] as const) {
    if (t.rank !== 2) throw new Error(`trainStep: ${name} must be a (B, T) tensor of token ids, got shape (${t.shape}).`);
    if (t.dtype !== "int32") throw new Error(`trainStep: ${name} must hold int32 token ids, got ${t.dtype}. Make it with getBatch, or tf.tensor2d(ids, [B, T], "int32").`);
  }
  if (x.shape.join(",") !== y.shape.join(",")) {
    throw new Error(`trainStep: y (targets) must have x's shape (${x.shape}), got (${y.shape}): y is x shifted one token left, as getBatch makes them.`);
  }
}

/**
 * A loss that is not finite: a target outside the vocabulary (crossEntropy makes those NaN), or divergence.
 * Reads the targets only here, on the error path.
 */
async function nonFiniteLoss(model: LanguageModel, y: tf.Tensor2D, loss: number, step: number, lr: number): Promise<never> {
  const ids = await y.data();
  const i = firstOutside(ids, model.vocabSize);
  if (i >= 0) {
    const T = y.shape[1];
    throw new Error(
      `target id ${ids[i]} (row ${Math.floor(i / T)}, column ${i % T} of y) is outside the model's vocabulary of ` +
        `${model.vocabSize} tokens (ids 0..${model.vocabSize - 1}). Build the model with the tokenizer's vocabSize, ` +
        `and the batches from the same tokenizer's ids.`,
    );
  }
  throw new TrainingDiverged(step, loss, lr);
}

/**
 * One optimisation step on one batch; resolves to the batch's loss (read asynchronously, so it runs on any backend).
 * `microBatches` > 1 splits the batch into that many equal parts and averages their gradients before the update
 * (gradient accumulation): the same step in less memory, for a batch too large to backpropagate at once.
 * A loss that is not finite throws before the update is applied: TrainingDiverged, or an error naming a target
 * outside the vocabulary. Nothing is left behind on any path.
 */
export async function trainStep(model: LanguageModel, optimizer: AdamW, x: tf.Tensor2D, y: tf.Tensor2D, microBatches = 1): Promise<number> {
  checkBatch(x, y);
  checkMicroBatches(x.shape[0], microBatches);
  const xs = microBatches > 1 ? tf.split(x, microBatches, 0) : [x];
  const ys = microBatches > 1 ? tf.split(y, microBatches, 0) : [y];
  const values: tf.Scalar[] = [];
  let sum: tf.NamedTensorMap = {};
  let mean: tf.NamedTensorMap = {};
  try {
    for (let i = 0; i < microBatches; i++) {
      const { value, grads } = tf.variableGrads(() => model.loss(xs[i] as tf.Tensor2D, ys[i] as tf.Tensor2D), model.parameters());
      values.push(value);
      const previous = sum;
      try {
        sum = i === 0 ? grads : tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.add(previous[k])])));
      } finally {
        if (i > 0) tf.dispose([grads, previous]);
      }
    }
    let loss = 0;
    for (const v of await readScalars(values)) loss += v / microBatches;
    if (!Number.isFinite(loss)) await nonFiniteLoss(model, y, loss, optimizer.t + 1, optimizer.lr);
    mean = microBatches > 1 ? tf.tidy(() => Object.fromEntries(Object.entries(sum).map(([k, g]) => [k, g.div(microBatches)]))) : sum;
    optimizer.step(mean);
    return loss;
  } finally {
    tf.dispose([...values, sum, mean]);
    if (microBatches > 1) tf.dispose([...xs, ...ys]);
  }
}

/**
 * The mean loss over `evalIters` random batches of each split, in evaluation mode, the model's mode restored after.
 * `safePoint` is awaited after each batch (train() gives the event loop a turn there, and may stop).
 * Each split's losses are read once, together.
 */
async function meanLosses(model: LanguageModel, split: Split, evalIters: number, shape: BatchShape, rng: Rng, safePoint?: () => Promise<void>): Promise<{ train: number; val: number }> {
  return model.inEvalMode(async () => {
    const out = { train: 0, val: 0 };
    for (const name of ["train", "val"] as const) {
      const losses: tf.Scalar[] = [];
      try {
        for (let k = 0; k < evalIters; k++) {
          losses.push(tf.tidy(() => {
            const { x, y } = getBatch(split[name], shape.batchSize, shape.blockSize, rng);
            return model.loss(x, y);
          }));
          await safePoint?.();
        }
        let sum = 0;
        for (const v of await readScalars(losses)) sum += v;
        out[name] = sum / evalIters;
      } finally {
        tf.dispose(losses);
      }
    }
    return out;
  });
}

function checkPositiveIntegers(values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${k} must be a positive integer, got ${v}.`);
  }
}

/**
 * The lecture's estimate_loss(): the mean loss over `evalIters` random batches of each split, in evaluation mode.
 * One batch's loss is noisy; the mean over many is the number worth comparing.
 */
export async function estimateLoss(model: LanguageModel, split: Split, evalIters: number, shape: BatchShape, rng: Rng): Promise<{ train: number; val: number }> {
  checkPositiveIntegers({ evalIters });
  checkTokenIds(split, model.vocabSize);
  return meanLosses(model, split, evalIters, shape, rng);
}

export interface TrainOptions extends BatchShape {
  /** Train until this many steps have been taken. */
  maxIters: number;
  /** Evaluate every this many steps (and after the last one). */
  evalInterval: number;
  /** Batches averaged per split at each evaluation. */
  evalIters: number;
  /**
   * Steps already taken (resuming from a checkpoint): the run takes steps startStep+1 .. maxIters, evaluating at each
   * multiple of evalInterval from startStep on and after the last step. Default 0.
   */
  startStep?: number;
  /** The random source for batches; default: a new Rng(1337). */
  rng?: Rng;
  /** Called after each completed step, before any evaluation at that step (a resumable point: save the random state here). */
  onStep?: (step: number, loss: number) => void;
  /** Called after each evaluation (print it, plot it, save a checkpoint); a promise it returns is awaited before the next step. */
  onEval?: (point: EvalPoint, history: EvalPoint[]) => void | Promise<void>;
  /** Split each batch into this many parts and accumulate their gradients (less memory, same step). Default 1. */
  microBatches?: number;
  /** Where to show progress as it trains: liveProgress() in a notebook, terminalProgress() in a script. */
  progress?: TrainProgress;
  /** Stop at the next step boundary once this is aborted (train() then throws TrainingInterrupted). */
  signal?: AbortSignal;
  /**
   * Stop at the next step boundary on SIGINT, the kernel's interrupt (train() then throws TrainingInterrupted).
   * Default: when the process already handles SIGINT, as the tslab kernel does; a script keeps Ctrl-C's default.
   */
  interruptible?: boolean;
}

/** How often train() gives the event loop a turn: displays get drawn, and an interrupt lands within this (or one step). */
const TURN_MS = 100;

/** The models a train() call is running on: a second call on one of them would interleave its steps with the first's. */
const training = new WeakSet<LanguageModel>();

/** The optimizer must update exactly the model's parameters, or training changes nothing (or another model). */
function checkOptimizer(model: LanguageModel, optimizer: AdamW): void {
  const own = new Set(model.parameters());
  const held = new Set(optimizer.params);
  const missing = [...own].filter((p) => !held.has(p)).length;
  const extra = [...held].filter((p) => !own.has(p)).length;
  if (missing > 0 || extra > 0) {
    throw new Error(
      `train: the optimizer does not hold this model's parameters (${missing} of the model's ${own.size} missing, ` +
        `${extra} that are not the model's). Build it for this model: new AdamW(model.parameters(), { lr }).`,
    );
  }
}

/** Evaluations a run makes: each multiple of evalInterval in [startStep, maxIters], and maxIters if it is not one. */
const evaluationsIn = (startStep: number, maxIters: number, evalInterval: number) =>
  Math.floor(maxIters / evalInterval) - Math.ceil(startStep / evalInterval) + 1 + (maxIters % evalInterval === 0 ? 0 : 1);

/**
 * Trains `model` from step `startStep` (default 0) to `maxIters`, evaluating at every multiple of `evalInterval`
 * and after the last step. One plain async loop: at each safe point (a step boundary, between two evaluation batches)
 * it reports progress, gives the event loop a turn every 100 ms so that a notebook stays responsive, and stops if
 * asked (kernel interrupt, `signal`): it throws TrainingInterrupted, with the model and optimizer as they were after
 * the last completed step and no tensor left behind. A loss that is not finite stops it with TrainingDiverged.
 */
export async function train(model: LanguageModel, optimizer: AdamW, split: Split, options: TrainOptions): Promise<TrainResult> {
  const { maxIters, evalInterval, evalIters, batchSize, blockSize, startStep = 0, rng = new Rng(), onEval, microBatches = 1, progress, signal } = options;
  checkPositiveIntegers({ maxIters, evalInterval, evalIters, batchSize, blockSize });
  if (!(Number.isInteger(startStep) && startStep >= 0 && startStep <= maxIters)) {
    throw new Error(`startStep must be an integer in [0, ${maxIters}] (the steps already taken, at most maxIters), got ${startStep}.`);
  }
  checkMicroBatches(batchSize, microBatches);
  checkOptimizer(model, optimizer);
  checkTokenIds(split, model.vocabSize);
  if (training.has(model)) {
    throw new Error("train: this model is already training (an earlier train() call on it has not finished). Await it, or stop it with its signal, first.");
  }
  training.add(model);
  const shape = { batchSize, blockSize };
  const history: EvalPoint[] = [];
  const stepLosses: number[] = [];
  const status: TrainStatus = {
    step: startStep, startStep, maxIters, tokensPerStep: batchSize * blockSize, elapsedMs: 0, stepMs: 0, evalMs: 0,
    evals: 0, evalsTotal: evaluationsIn(startStep, maxIters, evalInterval), evaluating: false, state: "running",
  };
  const start = performance.now();
  const result = (): TrainResult => ({ history, stepLosses, elapsedMs: performance.now() - start });
  let interrupts: InterruptWatch | undefined;
  let lastTurn = -Infinity;
  /** Report, give the event loop a turn if it is time, and stop if asked to. */
  const safePoint = async () => {
    status.elapsedMs = performance.now() - start;
    progress?.update(status, history);
    if (performance.now() - lastTurn >= TURN_MS) {
      await nextTurn();
      lastTurn = performance.now();
    }
    if (signal?.aborted || interrupts?.interrupted) throw new TrainingInterrupted(status.step, result());
  };
  const evaluate = async (step: number) => {
    const t0 = performance.now();
    status.evaluating = true;
    let point: EvalPoint;
    try {
      const losses = await meanLosses(model, split, evalIters, shape, rng, safePoint);
      for (const name of ["train", "val"] as const) {
        if (!Number.isFinite(losses[name])) {
          throw new TrainingDiverged(step, losses[name], optimizer.lr, result(), `the mean ${name} loss is ${losses[name]} after step ${step}`);
        }
      }
      point = { step, ...losses, elapsedMs: performance.now() - start };
      history.push(point);
      Object.assign(status, { lastEval: point, evals: status.evals + 1 });
    } finally {
      status.evalMs += performance.now() - t0;
      status.evaluating = false;
    }
    await onEval?.(point, history);
  };
  try {
    // Leave the cell's synchronous part first. While tslab runs it, node's vm takes SIGINT's listeners away and an
    // interrupt terminates the script wherever it is (mid-step, tensors half made); from here on, SIGINT is an event.
    await nextTurn();
    interrupts = watchInterrupts(options.interruptible);
    model.train();
    for (let step = startStep; ; step++) {
      if (step % evalInterval === 0 || step === maxIters) await evaluate(step);
      if (step === maxIters) break;
      const t0 = performance.now();
      const { x, y } = getBatch(split.train, batchSize, blockSize, rng);
      try {
        status.loss = await trainStep(model, optimizer, x, y, microBatches);
      } catch (err) {
        if (err instanceof TrainingDiverged) throw new TrainingDiverged(step + 1, err.loss, err.lr, result());
        throw err;
      } finally {
        tf.dispose([x, y]);
      }
      stepLosses.push(status.loss);
      status.step = step + 1;
      options.onStep?.(status.step, status.loss);
      status.stepMs += performance.now() - t0;
      await safePoint();
    }
    status.state = "done";
    status.elapsedMs = performance.now() - start;
    return { history, stepLosses, elapsedMs: status.elapsedMs };
  } catch (err) {
    status.state = err instanceof TrainingInterrupted ? "interrupted" : "failed";
    status.elapsedMs = performance.now() - start;
    throw err;
  } finally {
    training.delete(model);
    interrupts?.close();
    progress?.end(status, history);
  }
}
