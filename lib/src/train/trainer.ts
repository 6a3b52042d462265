/** The training loop of the lecture: sample a batch, compute the loss, backpropagate, update; evaluate now and then. */
import * as tf from "@tensorflow/tfjs";
import { getBatch, type Split } from "../data/batches";
import type { LanguageModel } from "../models/language-model";
import { Rng } from "../random";
import type { AdamW } from "./adamw";

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
  const wasTraining = model.training;
  model.eval();
  const out = { train: 0, val: 0 };
  try {
    for (const name of ["train", "val"] as const) {
      let sum = 0;
      for (let k = 0; k < evalIters; k++) {
        const { x, y } = getBatch(split[name], shape.batchSize, shape.blockSize, rng);
        const loss = model.loss(x, y);
        sum += loss.dataSync()[0];
        tf.dispose([x, y, loss]);
      }
      out[name] = sum / evalIters;
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
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
}

export interface TrainResult {
  /** Every evaluation, in order; the last one is after the final step. */
  history: EvalPoint[];
  /** The loss of every training batch, in order. */
  stepLosses: number[];
  elapsedMs: number;
}

/**
 * Trains `model` for `maxIters` steps, evaluating at step 0, every `evalInterval` steps and after the last step.
 * Async only so that a notebook can show output while it runs: the event loop gets a turn at every evaluation.
 */
export async function train(model: LanguageModel, optimizer: AdamW, split: Split, options: TrainOptions): Promise<TrainResult> {
  const { maxIters, evalInterval, evalIters, batchSize, blockSize, rng = new Rng(), onEval, microBatches = 1 } = options;
  for (const [k, v] of Object.entries({ maxIters, evalInterval, evalIters })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${k} must be a positive integer, got ${v}.`);
  }
  const shape = { batchSize, blockSize };
  const history: EvalPoint[] = [];
  const stepLosses: number[] = [];
  const start = performance.now();
  const evaluate = async (step: number) => {
    const point = { step, ...estimateLoss(model, split, evalIters, shape, rng), elapsedMs: performance.now() - start };
    history.push(point);
    onEval?.(point, history);
    await new Promise((resolve) => setImmediate(resolve));
  };
  model.train();
  for (let iter = 0; iter < maxIters; iter++) {
    if (iter % evalInterval === 0) await evaluate(iter);
    const { x, y } = getBatch(split.train, batchSize, blockSize, rng);
    stepLosses.push(trainStep(model, optimizer, x, y, microBatches));
    tf.dispose([x, y]);
  }
  await evaluate(maxIters);
  return { history, stepLosses, elapsedMs: performance.now() - start };
}
