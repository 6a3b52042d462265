/**
 * What training a GPT costs, from its configuration alone: parameters, and the floating-point operations of one
 * training step (forward and backward), estimated as nanoGPT's estimate_mfu does: 6 per parameter per token for the
 * matrix multiplies (2 forward, 4 backward), plus 12·T·C per token per layer for attention over a context of T.
 */
import type { GPTConfig } from "../models/gpt";

export interface TrainingCost {
  /** Every parameter (embeddings included), as the model counts them. */
  parameters: number;
  /** The parameters a token's forward pass multiplies by (the embedding tables are looked up, not multiplied). */
  multipliedParameters: number;
  flopsPerToken: number;
  /** For one step of batchSize × blockSize tokens. */
  flopsPerStep: number;
  /** For a whole run of maxIters steps, and its evaluations (each batch a forward pass, a third of a step's work). */
  flopsPerRun?: number;
}

/** The parameters of a GPT: embeddings, nLayer blocks (LayerNorms, attention, a 4× MLP), the final LayerNorm, the head. */
export function gptParameters({ vocabSize, blockSize, nEmbd: C, nLayer, layerNorm = true }: GPTConfig): number {
  const ln = layerNorm ? 2 * C : 0;
  const attention = 3 * C * C + C * C + C; // query, key, value (no bias); the projection with its bias
  const mlp = C * 4 * C + 4 * C + 4 * C * C + C;
  return vocabSize * C + blockSize * C + nLayer * (2 * ln + attention + mlp) + ln + C * vocabSize + vocabSize;
}

/** The cost of training `config` with batches of `batchSize` × its blockSize, and of a run's steps and evaluations. */
export function trainingCost(config: GPTConfig, { batchSize, maxIters, evalInterval, evalIters }: { batchSize: number; maxIters?: number; evalInterval?: number; evalIters?: number }): TrainingCost {
  const { vocabSize, blockSize: T, nEmbd: C, nLayer } = config;
  const parameters = gptParameters(config);
  const multipliedParameters = parameters - (vocabSize + T) * C;
  const flopsPerToken = 6 * multipliedParameters + 12 * nLayer * T * C;
  const flopsPerStep = flopsPerToken * batchSize * T;
  const cost: TrainingCost = { parameters, multipliedParameters, flopsPerToken, flopsPerStep };
  if (maxIters !== undefined && evalInterval !== undefined && evalIters !== undefined) {
    const evaluations = Math.floor(maxIters / evalInterval) + 1;
    cost.flopsPerRun = flopsPerStep * (maxIters + (evaluations * 2 * evalIters) / 3);
  }
  return cost;
}
