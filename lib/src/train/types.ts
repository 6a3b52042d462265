/**
 * The types of training shared by the loop (./trainer), its interruption (./interrupt), the progress displays
 * (../progress), the optimizer (./adamw) and the engine's fast AdamW (../engine/fast): a leaf module, so that none of
 * them imports another for a type.
 */
import type * as tf from "@tensorflow/tfjs";

/** The size of one batch: batchSize chunks of blockSize tokens. */
export interface BatchShape {
  batchSize: number;
  blockSize: number;
}

/** One evaluation: the mean train and val loss after `step` steps. */
export interface EvalPoint {
  step: number;
  train: number;
  val: number;
  /** Milliseconds since training started. */
  elapsedMs: number;
}

export interface TrainResult {
  /** Every evaluation, in order; the last one is after the final step. */
  history: EvalPoint[];
  /** The loss of every training batch of this run, in order. */
  stepLosses: number[];
  elapsedMs: number;
}

/** The numbers of one AdamW step: its settings, and the bias corrections of step t. */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** √(1 − β2^t) */
  bias2Sqrt: number;
}

/** One parameter's AdamW update: the parameter, its gradient and its two moments. */
export interface AdamWEntry {
  p: tf.Variable;
  g: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
}
