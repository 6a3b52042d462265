/**
 * What a training run records, shared by the loop (./trainer), its interruption (./interrupt) and the progress
 * displays (../progress): a leaf module, so that none of them imports another for a type.
 */

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
