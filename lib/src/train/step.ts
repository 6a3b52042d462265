/** One optimisation step, as the lecture's loop body: the loss of a batch, its gradient, (clipping,) the update. */
import * as tf from "@tensorflow/tfjs";
import { firstOutside } from "../data/batches";
import type { LanguageModel } from "../models/language-model";
import type { AdamW } from "./adamw";
import type { TrainResult } from "./types";

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

/** A failure of the engine inside a step (a WebAssembly trap, an allocation that failed): not the model's doing. */
export class EngineError extends Error {
  override readonly name = "EngineError";
}

export interface StepOptions {
  /** Split the batch into this many equal parts and sum their gradients: the same step in less memory. Default 1. */
  microBatches?: number;
  /** Scale the gradient down to this global norm when it is larger (nanoGPT: 1.0); 0 or undefined: no clipping. */
  gradClip?: number;
}

/** Reads a list of scalars with one asynchronous read (one round trip on a GPU). */
export async function readScalars(scalars: tf.Scalar[]): Promise<Float32Array> {
  if (scalars.length === 1) return (await scalars[0].data()) as Float32Array;
  const stacked = tf.stack(scalars);
  try {
    return (await stacked.data()) as Float32Array;
  } finally {
    stacked.dispose();
  }
}

export function checkMicroBatches(batchSize: number, microBatches: number): void {
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

/** The gradients of the mean loss over `microBatches` parts of the batch, and each part's loss (the caller disposes all). */
function gradients(model: LanguageModel, x: tf.Tensor2D, y: tf.Tensor2D, microBatches: number): { values: tf.Scalar[]; grads: tf.NamedTensorMap } {
  const xs = microBatches > 1 ? tf.split(x, microBatches, 0) : [x];
  const ys = microBatches > 1 ? tf.split(y, microBatches, 0) : [y];
  const values: tf.Scalar[] = [];
  let sum: tf.NamedTensorMap = {};
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
    const grads = microBatches > 1 ? tf.tidy(() => Object.fromEntries(Object.entries(sum).map(([k, g]) => [k, g.div(microBatches)]))) : sum;
    if (grads !== sum) tf.dispose(sum);
    return { values, grads };
  } catch (err) {
    tf.dispose([...values, sum]);
    throw err;
  } finally {
    if (microBatches > 1) tf.dispose([...xs, ...ys]);
  }
}

/**
 * torch.nn.utils.clip_grad_norm_: when the gradients' global norm (√ of the sum of every element squared) is above
 * `maxNorm`, scales them all by maxNorm / (norm + 1e-6). Returns new tensors; the caller disposes both sets.
 */
export function clipGradNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const norm = tf.addN(Object.values(grads).map((g) => g.square().sum())).sqrt();
    const scale = tf.minimum(1, tf.div(maxNorm, norm.add(1e-6)));
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.mul(scale)]));
  });
}

/** A WebAssembly trap or a failed allocation, as what it is, with what to do about it. */
function engineFailure(err: unknown): never {
  if (err instanceof WebAssembly.RuntimeError) {
    throw new EngineError(
      `The CPU engine failed inside a training step (WebAssembly: ${err.message}). The usual cause is a step too large for ` +
        `its memory: train with a smaller batch, or in parts (microBatches), or on a GPU (GPT_BACKEND=webgpu).`,
    );
  }
  throw err;
}

/**
 * One optimisation step on one batch; resolves to the batch's loss (read asynchronously, so it runs on any backend).
 * `microBatches` > 1 splits the batch into that many equal parts and averages their gradients before the update
 * (gradient accumulation): the same step in less memory, for a batch too large to backpropagate at once. `gradClip`
 * clips the gradient's global norm. A loss that is not finite throws before the update is applied: TrainingDiverged,
 * or an error naming a target outside the vocabulary. Nothing is left behind on any path.
 */
export async function trainStep(model: LanguageModel, optimizer: AdamW, x: tf.Tensor2D, y: tf.Tensor2D, { microBatches = 1, gradClip = 0 }: StepOptions = {}): Promise<number> {
  checkBatch(x, y);
  checkMicroBatches(x.shape[0], microBatches);
  if (!(Number.isFinite(gradClip) && gradClip >= 0)) throw new Error(`gradClip must be a number >= 0 (0: no clipping), got ${gradClip}.`);
  let values: tf.Scalar[] = [];
  let grads: tf.NamedTensorMap = {};
  let clipped: tf.NamedTensorMap = {};
  try {
    try {
      ({ values, grads } = gradients(model, x, y, microBatches));
    } catch (err) {
      engineFailure(err);
    }
    let loss = 0;
    for (const v of await readScalars(values)) loss += v / microBatches;
    if (!Number.isFinite(loss)) await nonFiniteLoss(model, y, loss, optimizer.t + 1, optimizer.lr);
    clipped = gradClip > 0 ? clipGradNorm(grads, gradClip) : grads;
    optimizer.step(clipped);
    return loss;
  } finally {
    tf.dispose([...values, grads, clipped]);
  }
}
