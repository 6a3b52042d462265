/** The data loader of the lecture: a train/val split and random batches of chunks. */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";

export interface Split {
  train: Int32Array;
  val: Int32Array;
}

/** First `trainFraction` of the tokens for training, the rest for validation (the lecture: 90% / 10%). */
export function trainValSplit(data: ArrayLike<number>, trainFraction = 0.9): Split {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new Error(`trainFraction must be between 0 and 1, got ${trainFraction}.`);
  const all = Int32Array.from(data);
  const n = Math.floor(trainFraction * all.length);
  return { train: all.subarray(0, n), val: all.subarray(n) };
}

export interface Batch {
  /** inputs, (B, T) int32 */
  x: tf.Tensor2D;
  /** targets: the inputs shifted one step left, (B, T) int32 */
  y: tf.Tensor2D;
}

/** The most tokens one batch may hold: 2^24, a thousand times gpt.py's 64 × 256, and 128 MB for x and y alone. */
export const MAX_BATCH_TOKENS = 2 ** 24;

/**
 * B chunks of T tokens at random offsets i in [0, len - T): x = data[i : i+T], y = data[i+1 : i+T+1].
 * The caller owns (and disposes) the two tensors.
 */
export function getBatch(data: Int32Array, batchSize: number, blockSize: number, rng: Rng): Batch {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`batchSize must be a positive integer, got ${batchSize}.`);
  if (!(Number.isInteger(blockSize) && blockSize >= 1)) throw new Error(`blockSize must be a positive integer, got ${blockSize}.`);
  if (batchSize * blockSize > MAX_BATCH_TOKENS) {
    throw new Error(
      `A batch of ${batchSize} × ${blockSize} = ${batchSize * blockSize} tokens is too large: one batch may hold at most ` +
        `${MAX_BATCH_TOKENS} tokens (2^24). x and y alone would take ${((batchSize * blockSize * 8) / 2 ** 30).toFixed(1)} GB, and the ` +
        `model's activations many times that. The lecture's largest batch is 64 × 256 = 16384 tokens: choose a smaller batchSize or blockSize.`,
    );
  }
  if (data.length <= blockSize) throw new Error(`The data (${data.length} tokens) is too short for blockSize ${blockSize}.`);
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const i = rng.int(data.length - blockSize);
    x.set(data.subarray(i, i + blockSize), b * blockSize);
    y.set(data.subarray(i + 1, i + blockSize + 1), b * blockSize);
  }
  return { x: tf.tensor2d(x, [batchSize, blockSize], "int32"), y: tf.tensor2d(y, [batchSize, blockSize], "int32") };
}

/** The index of the first id that is not an integer in [0, vocabSize), or -1. */
export function firstOutside(ids: ArrayLike<number>, vocabSize: number): number {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) return i;
  }
  return -1;
}

/** Every token id of both splits must be below the model's vocabSize (one pass over each: cheap). */
export function checkTokenIds(split: Split, vocabSize: number): void {
  for (const name of ["train", "val"] as const) {
    const i = firstOutside(split[name], vocabSize);
    if (i >= 0) {
      throw new Error(
        `The ${name} data holds token id ${split[name][i]} (at index ${i}), but the model's vocabulary has ${vocabSize} tokens ` +
          `(ids 0..${vocabSize - 1}). Build the model with the vocabSize of the tokenizer that encoded the data.`,
      );
    }
  }
}
