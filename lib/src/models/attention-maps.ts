/**
 * Looking inside a model: the attention weights of every head, read during one ordinary forward pass through the
 * attention layers' hooks (as PyTorch's register_forward_hook), so plotting them never needs a second copy of the
 * model's code. Works for any model built from Head or CausalSelfAttention.
 */
import * as tf from "@tensorflow/tfjs";
import { Head } from "../nn/attention";
import type { Module } from "../nn/module";
import { CausalSelfAttention } from "../nn/multi-head";
import type { LanguageModel } from "./language-model";

/** One head's attention weights for a batch. */
export interface AttentionMap {
  /**
   * The head's name: its dotted module name for a Head (`sa_head`, `blocks.0.sa.heads.1`), the layer's name and the
   * head's index for the batched layer (`blocks.0.sa[1]`).
   */
  name: string;
  /** (B, T, T): row t is how much position t takes from each position 0..t; rows sum to 1. */
  weights: tf.Tensor3D;
}

/** Hooks `layer` so that each pass stores its heads' weights in `seen` under their names; returns the remover. */
function record(name: string, layer: Module, seen: Map<string, tf.Tensor3D>): (() => void) | undefined {
  const store = (key: string, wei: tf.Tensor3D) => {
    seen.get(key)?.dispose(); // a head run twice in one pass: keep its last weights
    seen.set(key, tf.keep(wei));
  };
  if (layer instanceof Head) return layer.onAttention((wei) => store(name, wei.clone())); // (B, T, T)
  if (layer instanceof CausalSelfAttention) {
    return layer.onAttention((att) => { // (B, nh, T, T)
      tf.unstack(att, 1).forEach((wei, h) => store(`${name}[${h}]`, wei as tf.Tensor3D));
    });
  }
  return undefined;
}

/**
 * Runs `model.forward(idx)` once, in evaluation mode (no dropout), and returns the attention weights of each of its
 * heads, in module order. idx (B, T) int32 -> [{ name, weights (B, T, T) }]. The caller disposes the weights.
 */
export function attentionMaps(model: LanguageModel, idx: tf.Tensor2D): AttentionMap[] {
  const seen = new Map<string, tf.Tensor3D>();
  const removers = model.namedModules().flatMap(([name, layer]) => record(name, layer, seen) ?? []);
  try {
    model.inEvalMode(() => tf.tidy(() => {
      model.forward(idx); // (B, T, vocabSize), disposed by the tidy: only the hooks' copies remain
    }));
  } catch (err) {
    tf.dispose([...seen.values()]);
    throw err;
  } finally {
    removers.forEach((remove) => remove());
  }
  return [...seen].map(([name, weights]) => ({ name, weights }));
}
