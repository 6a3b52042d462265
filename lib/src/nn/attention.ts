/** Causal self-attention, as the lecture builds it: one head at a time. */
import * as tf from "@tensorflow/tfjs";
import * as fast from "../engine/fast";
import { Dropout, Linear } from "./layers";
import { checkSizes, Module } from "./module";

/** The causal mask for T positions: true on and below the diagonal (a token sees itself and its past). (T, T) */
export function causalMask(T: number): tf.Tensor2D {
  // Built in JavaScript: tf.linalg.bandPart on a bool tensor corrupts the wasm backend's memory (tfjs 4.22).
  const mask = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) mask.fill(1, i * T, i * T + i + 1);
  return tf.tensor2d(mask, [T, T], "bool");
}

/** The mask as something to add to attention scores: 0 on and below the diagonal, −∞ above it. (T, T) */
export function causalBias(T: number): tf.Tensor2D {
  const bias = new Float32Array(T * T);
  for (let i = 0; i < T; i++) bias.fill(-Infinity, i * T + i + 1, (i + 1) * T);
  return tf.tensor2d(bias, [T, T]);
}

/**
 * The affinities of every query with every key, scaled by headSize^-0.5 so that they keep unit variance when q and k
 * do (unscaled, the variance is headSize and softmax turns one-hot).
 * q (B, T, hs), k (B, T', hs) -> (B, T, T')
 */
export function scaledAffinities(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => tf.matMul(q, k, false, true).mul(q.shape[2] ** -0.5)); // (B, T, hs) @ (B, hs, T') -> (B, T, T')
}

/**
 * The decoder's softmax: −∞ above the diagonal (the future), then softmax along each row, so row t is a distribution
 * over positions 0..t. With all-zero scores it is the running average of Lesson 3.
 * scores (..., T, T) -> wei (..., T, T)
 */
export function causalSoftmax<R extends tf.Rank>(scores: tf.Tensor<R>): tf.Tensor<R> {
  return fast.causalSoftmax(scores) ?? tf.tidy(() => {
    const T = scores.shape[scores.rank - 1];
    // Added, not tf.where: the (T, T) mask broadcasts over the batch dimensions without tiling a bool tensor,
    // which the wasm backend cannot do.
    const masked = scores.add(causalBias(T)); // (..., T, T)
    return tf.softmax(masked, -1) as tf.Tensor<R>;
  });
}

export interface HeadOptions {
  /** Dropout on the attention weights (gpt.py: 0.2); default 0. */
  dropout?: number;
}

/** Receives attention weights during a forward pass: (B, T, T) from a Head, (B, nHead, T, T) from CausalSelfAttention. */
export type AttentionHook<W extends tf.Tensor = tf.Tensor3D> = (wei: W) => void;

/**
 * The forward hooks of an attention layer — PyTorch's register_forward_hook, for looking inside: every hook is called
 * with the attention weights (before dropout) of each forward pass, until the function `add` returned is called.
 * The tensor is disposed after the pass: copy what you need (attentionMaps does).
 */
export class AttentionHooks<W extends tf.Tensor> {
  private readonly hooks = new Set<AttentionHook<W>>();

  add(hook: AttentionHook<W>): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** Whether any hook is registered. */
  get active(): boolean {
    return this.hooks.size > 0;
  }

  call(wei: W): void {
    for (const hook of this.hooks) hook(wei);
  }
}

/**
 * One head of causal self-attention. Every token emits a query ("what am I looking for?") and a key ("what do I
 * contain?"); their dot products, scaled by headSize^-0.5, masked to the past and softmaxed, weight an average of the
 * tokens' values.
 */
export class Head extends Module {
  readonly key: Linear;
  readonly query: Linear;
  readonly value: Linear;
  readonly dropout: Dropout;
  private readonly hooks = new AttentionHooks<tf.Tensor3D>();

  constructor(readonly nEmbd: number, readonly headSize: number, { dropout = 0 }: HeadOptions = {}) {
    super();
    checkSizes("Head", { nEmbd, headSize });
    this.key = this.module("key", new Linear(nEmbd, headSize, { bias: false }));
    this.query = this.module("query", new Linear(nEmbd, headSize, { bias: false }));
    this.value = this.module("value", new Linear(nEmbd, headSize, { bias: false }));
    this.dropout = this.module("dropout", new Dropout(dropout));
  }

  /** x (B, T, C) -> (B, T, headSize) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const k = this.key.forward(x); // (B, T, hs)
      const q = this.query.forward(x); // (B, T, hs)
      const wei = causalSoftmax(scaledAffinities(q, k)); // (B, T, T)
      this.hooks.call(wei);
      const v = this.value.forward(x); // (B, T, hs)
      return tf.matMul(this.dropout.forward(wei), v); // (B, T, T) @ (B, T, hs) -> (B, T, hs)
    });
  }

  /** Calls `hook` with the attention weights (B, T, T) of every forward pass, until the returned function is called. */
  onAttention(hook: AttentionHook<tf.Tensor3D>): () => void {
    return this.hooks.add(hook);
  }
}
