/**
 * Whether a training step fits the engine's memory, checked before the first step rather than found out in the middle
 * of one. The CPU engine's tensors live in WebAssembly's heap, at most 4 GiB; a step needs the model, the optimizer's
 * moments, and the activations the backward pass keeps, which grow with the batch. The step's peak is measured on
 * batches of 1 and 2 sequences (the engine counts its allocations: the growth per sequence, and what does not grow),
 * then projected to the batch each part of a step takes.
 */
import * as tf from "@tensorflow/tfjs";
import { getBatch } from "../data/batches";
import * as fast from "../engine/fast";
import type { LanguageModel } from "../models/language-model";
import { Dropout } from "../nn/layers";
import { Rng } from "../random";
import type { BatchShape } from "./types";

/** What a step would need, and the advice when it does not fit. */
export class StepTooLarge extends Error {
  override readonly name = "StepTooLarge";

  constructor(readonly needBytes: number, readonly limitBytes: number, readonly microBatches: number | undefined) {
    const gb = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
    super(
      `A training step at this batch needs about ${gb(needBytes)} of the engine's memory, which holds ${gb(limitBytes)} ` +
        `(the CPU engine: WebAssembly's limit). ` +
        (microBatches
          ? `Split each batch into ${microBatches} parts whose gradients are summed (the same step: microBatches ${microBatches} in train(), --micro-batches ${microBatches} in npm run train), `
          : "Even one sequence at a time does not fit: use a smaller model or block size, ") +
        `or a smaller batch, or train on a GPU (GPT_BACKEND=webgpu).`,
    );
  }
}

/**
 * The peak bytes of one forward and backward pass on `batch` sequences (undefined where the engine cannot count),
 * the model's random streams left as they were. An engine error in the pass is thrown as it is.
 */
function peakBytes(model: LanguageModel, data: Int32Array, batch: number, blockSize: number): number | undefined {
  const streams = model.namedModules().flatMap(([, m]) => (m instanceof Dropout && m.randomStream ? [m.randomStream] : []));
  const states = streams.map((s) => s.getState());
  try {
    const measured = fast.peakMemory(() => tf.tidy(() => {
      const { x, y } = getBatch(data, batch, blockSize, new Rng(0));
      const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
      tf.dispose([value, grads]);
    }));
    if (measured?.error) throw measured.error;
    return measured === undefined ? undefined : tf.memory().numBytes + measured.peakBytes;
  } finally {
    streams.forEach((s, i) => s.setState(states[i]));
  }
}

/** Leave this share of the heap for what the projection does not see (the heap's fragmentation, the evaluation). */
const HEADROOM = 0.85;

/**
 * Throws StepTooLarge, with the number of parts that would fit, when a step of `shape` in `microBatches` parts would not
 * fit the engine's memory. Does nothing on an engine without a known limit (the GPU's own errors are clear).
 */
export async function checkStepMemory(model: LanguageModel, data: Int32Array, { batchSize, blockSize }: BatchShape, microBatches: number): Promise<void> {
  const limit = fast.memoryLimit();
  if (limit === undefined) return;
  const wasTraining = model.training;
  model.train();
  try {
    const p1 = peakBytes(model, data, 1, blockSize);
    const p2 = peakBytes(model, data, 2, blockSize);
    if (p1 === undefined || p2 === undefined) return;
    const perSequence = Math.max(0, p2 - p1);
    const need = (parts: number) => p1 + perSequence * (batchSize / parts - 1);
    if (need(microBatches) <= HEADROOM * limit) return;
    const fits = Array.from({ length: batchSize }, (_, i) => i + 1).find((k) => batchSize % k === 0 && need(k) <= HEADROOM * limit);
    throw new StepTooLarge(need(microBatches), limit, fits);
  } finally {
    if (!wasTraining) model.eval();
  }
}
