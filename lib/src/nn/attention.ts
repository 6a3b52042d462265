/** Causal self-attention, as the lecture builds it: one head at a time. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { Dropout, Linear } from "./layers";
import { Module } from "./module";

/** The causal mask for T positions: true on and below the diagonal (a token sees itself and its past). (T, T) */
export function causalMask(T: number): tf.Tensor2D {
  return tf.tidy(() => tf.linalg.bandPart(tf.ones([T, T], "bool"), -1, 0) as tf.Tensor2D);
}

export interface HeadOptions {
  dropout?: number;
  rng?: Rng;
  /** Initialise the projections from N(0, std²), as gpt.py (0.02); default: PyTorch's. */
  std?: number;
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

  constructor(readonly nEmbd: number, readonly headSize: number, { dropout = 0, rng = new Rng(), std }: HeadOptions = {}) {
    super();
    this.key = this.module("key", new Linear(nEmbd, headSize, { bias: false, rng, std }));
    this.query = this.module("query", new Linear(nEmbd, headSize, { bias: false, rng, std }));
    this.value = this.module("value", new Linear(nEmbd, headSize, { bias: false, rng, std }));
    this.dropout = this.module("dropout", new Dropout(dropout, rng));
  }

  /** The attention weights: x (B, T, C) -> wei (B, T, T), each row a distribution over the row's past. */
  attention(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const T = x.shape[1];
      const k = this.key.forward(x); // (B, T, hs)
      const q = this.query.forward(x); // (B, T, hs)
      const scores = tf.matMul(q, k, false, true).mul(this.headSize ** -0.5); // (B, T, hs) @ (B, hs, T) -> (B, T, T)
      const masked = tf.where(causalMask(T), scores, tf.fill(scores.shape, -Infinity)); // (B, T, T)
      return tf.softmax(masked, -1) as tf.Tensor3D; // (B, T, T)
    });
  }

  /** x (B, T, C) -> (B, T, headSize) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const wei = this.dropout.forward(this.attention(x)); // (B, T, T)
      const v = this.value.forward(x); // (B, T, hs)
      return tf.matMul(wei, v); // (B, T, T) @ (B, T, hs) -> (B, T, hs)
    });
  }
}
