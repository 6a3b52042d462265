/** The training loop of the lecture: sample a batch, compute the loss, backpropagate, update; evaluate now and then. */
import * as tf from "@tensorflow/tfjs";
import { getBatch, type Split } from "../data/batches";
import type { LanguageModel } from "../models/language-model";
import type { TrainProgress, TrainStatus } from "../progress/status";
import { Rng } from "../random";
import type { AdamW } from "./adamw";
import { nextTurn, TrainingInterrupted, watchInterrupts, type InterruptWatch } from "./interrupt";

export interface BatchShape {
  batchSize: number;
  blockSize: number;
}

export interface EvalPoint {
  step: number;
  train: number;
  val: number;
  /** Milliseconds since training started. */
  elapsedMs: number;
}

/**
 * One optimisation step on one batch; returns the batch's loss.
 * `microBatches` > 1 splits the batch into that many equal parts and averages their gradients before the update
 * (gradient accumulation): the same step, in less memory — how gpt.py's batch of 64 fits the wasm backend.
 */
export function trainStep(model: LanguageModel, optimizer: AdamW, x: tf.Tensor2D, y: tf.Tensor2D, microBatches = 1): number {
  const B = x.shape[0];
  if (!(Number.isInteger(microBatches) && microBatches >= 1 && B % microBatches === 0)) {
    throw new Error(`microBatches must be a positive integer that divides the batch size ${B}, got ${microBatches}.`);
  }
  const xs = microBatches > 1 ? tf.split(x, microBatches, 0) : [x];
  const ys = microBatches > 1 ? tf.split(y, microBatches, 0) : [y];
  let sum: tf.NamedTensorMap = {};
  let loss = 0;
  for (let i = 0; i < microBatches; i++) {
    const { value, grads } = tf.variableGrads(() => model.loss(xs[i] as tf.Tensor2D, ys[i] as tf.Tensor2D), model.parameters());
    loss += value.dataSync()[0] / microBatches;
    const previous = sum;
    sum = i === 0 ? grads : tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.add(previous[k])])));
    if (i > 0) tf.dispose([grads, previous]);
    value.dispose();
  }
  const mean = microBatches > 1 ? tf.tidy(() => Object.fromEntries(Object.entries(sum).map(([k, g]) => [k, g.div(microBatches)]))) : sum;
  optimizer.step(mean);
  tf.dispose([sum, mean]);
  if (microBatches > 1) tf.dispose([...xs, ...ys]);
  return loss;
}

/**
 * The lecture's estimate_loss(): the mean loss over `evalIters` random batches of each split, in evaluation mode.
 * One batch's loss is noisy; the mean over many is the number worth comparing.
 */
export function estimateLoss(model: LanguageModel, split: Split, evalIters: number, shape: BatchShape, rng: Rng): { train: number; val: number } {
  const batches = lossEstimate(model, split, evalIters, shape, rng);
  for (;;) {
    const next = batches.next();
    if (next.done) return next.value;
  }
}

/** estimateLoss one batch at a time: pauses after each batch, so that train() can give the event loop a turn or stop. */
function* lossEstimate(model: LanguageModel, split: Split, evalIters: number, shape: BatchShape, rng: Rng): Generator<void, { train: number; val: number }> {
  const wasTraining = model.training;
  model.eval();
  try {
    const out = { train: 0, val: 0 };
    for (const name of ["train", "val"] as const) {
      let sum = 0;
      for (let k = 0; k < evalIters; k++) {
        sum += tf.tidy(() => {
          const { x, y } = getBatch(split[name], shape.batchSize, shape.blockSize, rng);
          return model.loss(x, y).dataSync()[0];
        });
        yield;
      }
      out[name] = sum / evalIters;
    }
    return out;
  } finally {
    model.train(wasTraining);
  }
}

export interface TrainOptions extends BatchShape {
  maxIters: number;
  /** Evaluate every this many steps (and after the last one). */
  evalInterval: number;
  /** Batches averaged per split at each evaluation. */
  evalIters: number;
  /** The random source for batches; default: a new Rng(1337). */
  rng?: Rng;
  /** Called after each evaluation (print it, plot it). */
  onEval?: (point: EvalPoint, history: EvalPoint[]) => void;
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

export interface TrainResult {
  /** Every evaluation, in order; the last one is after the final step. */
  history: EvalPoint[];
  /** The loss of every training batch, in order. */
  stepLosses: number[];
  elapsedMs: number;
}

/** How often train() gives the event loop a turn: displays get drawn, and an interrupt lands within this (or one step). */
const TURN_MS = 100;

/**
 * Trains `model` for `maxIters` steps, evaluating at step 0, every `evalInterval` steps and after the last step.
 * Async so that a notebook stays responsive: the event loop gets a turn every 100 ms, at a step boundary or between
 * two evaluation batches. There the run can stop (kernel interrupt, `signal`): it throws TrainingInterrupted, with
 * the model and optimizer as they were after the last completed step and no tensor left behind.
 */
export async function train(model: LanguageModel, optimizer: AdamW, split: Split, options: TrainOptions): Promise<TrainResult> {
  const { maxIters, evalInterval, evalIters, batchSize, blockSize, rng = new Rng(), onEval, microBatches = 1, progress, signal } = options;
  for (const [k, v] of Object.entries({ maxIters, evalInterval, evalIters })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${k} must be a positive integer, got ${v}.`);
  }
  const shape = { batchSize, blockSize };
  const history: EvalPoint[] = [];
  const stepLosses: number[] = [];
  const status: TrainStatus = {
    step: 0, maxIters, tokensPerStep: batchSize * blockSize, elapsedMs: 0, stepMs: 0, evalMs: 0,
    evals: 0, evalsTotal: Math.ceil(maxIters / evalInterval) + 1, evaluating: false, state: "running",
  };
  const start = performance.now();
  let interrupts: InterruptWatch | undefined;
  let lastTurn = -Infinity;
  /** At a safe point: report, give the event loop a turn if it is time, and stop if asked to. */
  const checkpoint = async () => {
    status.elapsedMs = performance.now() - start;
    progress?.update(status, history);
    if (performance.now() - lastTurn >= TURN_MS) {
      await nextTurn();
      lastTurn = performance.now();
    }
    if (signal?.aborted || interrupts?.interrupted) {
      throw new TrainingInterrupted(status.step, { history, stepLosses, elapsedMs: performance.now() - start });
    }
  };
  const evaluate = async (step: number) => {
    const t0 = performance.now();
    status.evaluating = true;
    const batches = lossEstimate(model, split, evalIters, shape, rng);
    try {
      for (let next = batches.next(); ; next = batches.next()) {
        if (next.done) {
          const point = { step, ...next.value, elapsedMs: performance.now() - start };
          history.push(point);
          Object.assign(status, { lastEval: point, evals: status.evals + 1, evaluating: false });
          onEval?.(point, history);
          return;
        }
        await checkpoint();
      }
    } finally {
      batches.return({ train: NaN, val: NaN }); // if stopped halfway: runs its finally, the model back in training mode
      status.evalMs += performance.now() - t0;
      status.evaluating = false;
    }
  };
  try {
    // Leave the cell's synchronous part first. While tslab runs it, node's vm takes SIGINT's listeners away and an
    // interrupt terminates the script wherever it is (mid-step, tensors half made); from here on, SIGINT is an event.
    await nextTurn();
    interrupts = watchInterrupts(options.interruptible);
    model.train();
    for (let iter = 0; ; iter++) {
      if (iter % evalInterval === 0 || iter === maxIters) await evaluate(iter);
      if (iter === maxIters) break;
      const t0 = performance.now();
      const { x, y } = getBatch(split.train, batchSize, blockSize, rng);
      try {
        status.loss = trainStep(model, optimizer, x, y, microBatches);
      } finally {
        tf.dispose([x, y]);
      }
      stepLosses.push(status.loss);
      status.step = iter + 1;
      status.stepMs += performance.now() - t0;
      await checkpoint();
    }
    status.state = "done";
    status.elapsedMs = performance.now() - start;
    return { history, stepLosses, elapsedMs: status.elapsedMs };
  } catch (err) {
    status.state = err instanceof TrainingInterrupted ? "interrupted" : "failed";
    status.elapsedMs = performance.now() - start;
    throw err;
  } finally {
    interrupts?.close();
    progress?.end(status, history);
  }
}
