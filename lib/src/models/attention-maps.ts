/**
 * Looking inside a model: the attention weights of every head, read during one ordinary forward pass (through hooks
 * on each Head, as PyTorch's register_forward_hook), so plotting them never needs a second copy of the model's code.
 * Works for any model built from Head: one head today, many heads in many blocks later.
 */
import * as tf from "@tensorflow/tfjs";
import { Head } from "../nn/attention";
import type { LanguageModel } from "./language-model";

/** One head's attention weights for a batch. */
export interface AttentionMap {
  /** The head's dotted module name, as in PyTorch's state_dict: `sa_head`, `blocks.0.sa.heads.1`. */
  name: string;
  /** (B, T, T): row t is how much position t takes from each position 0..t; rows sum to 1. */
  weights: tf.Tensor3D;
}

/**
 * Runs `model.forward(idx)` once, in evaluation mode (no dropout), and returns the attention weights of each of its
 * heads, in module order. idx (B, T) int32 -> [{ name, weights (B, T, T) }]. The caller disposes the weights.
 */
export function attentionMaps(model: LanguageModel, idx: tf.Tensor2D): AttentionMap[] {
  const heads = model.namedModules().filter((entry): entry is [string, Head] => entry[1] instanceof Head);
  const seen = new Map<string, tf.Tensor3D>();
  const removers = heads.map(([name, head]) =>
    head.onAttention((wei) => {
      seen.get(name)?.dispose(); // a head run twice in one pass: keep its last weights
      seen.set(name, tf.keep(wei.clone()));
    }),
  );
  const wasTraining = model.training;
  model.eval();
  try {
    tf.tidy(() => {
      model.forward(idx); // (B, T, vocabSize), disposed by the tidy: only the hooks' copies remain
    });
  } catch (err) {
    tf.dispose([...seen.values()]);
    throw err;
  } finally {
    removers.forEach((remove) => remove());
    model.train(wasTraining);
  }
  return heads.filter(([name]) => seen.has(name)).map(([name]) => ({ name, weights: seen.get(name)! }));
}
