/** Several heads of causal self-attention in parallel: per head (as the lecture) and batched (as nanoGPT). */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { causalSoftmax, Head } from "./attention";
import { Dropout, Linear } from "./layers";
import { Module } from "./module";

export interface AttentionOptions {
  /** Follow the heads with a Linear projection back into the residual stream (from the residual step on). */
  projection?: boolean;
  dropout?: number;
  rng?: Rng;
  /** Initialise weights from N(0, std²), as gpt.py (0.02); default: PyTorch's. */
  std?: number;
}

/** The common face of both implementations: x (B, T, C) in, (B, T, C) out, and the attention weights for plotting. */
export interface SelfAttention extends Module {
  readonly numHeads: number;
  forward(x: tf.Tensor3D): tf.Tensor3D;
  /** Every head's weights: x (B, T, C) -> (B, numHeads, T, T) */
  attention(x: tf.Tensor3D): tf.Tensor4D;
}

/** numHeads Heads side by side, their outputs concatenated along C: (B, T, numHeads·headSize). */
export class MultiHeadAttention extends Module implements SelfAttention {
  readonly heads: Head[];
  readonly proj?: Linear;
  readonly dropout: Dropout;

  constructor(readonly nEmbd: number, readonly numHeads: number, readonly headSize: number, { projection = true, dropout = 0, rng = new Rng(), std }: AttentionOptions = {}) {
    super();
    this.heads = Array.from({ length: numHeads }, (_, i) => this.module(`heads.${i}`, new Head(nEmbd, headSize, { dropout, rng, std })));
    if (projection) this.proj = this.module("proj", new Linear(numHeads * headSize, nEmbd, { rng, std }));
    this.dropout = this.module("dropout", new Dropout(dropout, rng));
  }

  /** x (B, T, C) -> (B, T, C) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const out = tf.concat(this.heads.map((h) => h.forward(x)), -1) as tf.Tensor3D; // (B, T, numHeads·hs)
      return this.proj ? this.dropout.forward(this.proj.forward(out)) : out;
    });
  }

  attention(x: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => tf.stack(this.heads.map((h) => h.attention(x)), 1) as tf.Tensor4D); // (B, nh, T, T)
  }
}

/**
 * nanoGPT's CausalSelfAttention: the same maths as MultiHeadAttention with a projection, in fewer, larger operations.
 * One Linear computes q, k and v for every head at once; the heads become a batch dimension.
 * Weights: c_attn.weight (3C, C) holds [query of head 0…nh-1; key …; value …] row blocks; c_proj is the projection.
 */
export class CausalSelfAttention extends Module implements SelfAttention {
  readonly cAttn: Linear;
  readonly cProj: Linear;
  readonly attnDropout: Dropout;
  readonly residDropout: Dropout;
  readonly headSize: number;

  constructor(readonly nEmbd: number, readonly numHeads: number, { dropout = 0, rng = new Rng(), std }: Omit<AttentionOptions, "projection"> = {}) {
    super();
    if (nEmbd % numHeads !== 0) throw new Error(`nEmbd (${nEmbd}) must be divisible by the number of heads (${numHeads}).`);
    this.headSize = nEmbd / numHeads;
    this.cAttn = this.module("c_attn", new Linear(nEmbd, 3 * nEmbd, { bias: false, rng, std }));
    this.cProj = this.module("c_proj", new Linear(nEmbd, nEmbd, { rng, std }));
    this.attnDropout = this.module("attn_dropout", new Dropout(dropout, rng));
    this.residDropout = this.module("resid_dropout", new Dropout(dropout, rng));
  }

  /** x (B, T, C) -> q, k, v, each (B, nh, T, hs) */
  private qkv(x: tf.Tensor3D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    const [B, T] = x.shape;
    const splitHeads = (t: tf.Tensor) => t.reshape([B, T, this.numHeads, this.headSize]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
    const [q, k, v] = tf.split(this.cAttn.forward(x), 3, -1); // 3 × (B, T, C)
    return [splitHeads(q), splitHeads(k), splitHeads(v)];
  }

  private weights(q: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D {
    const att = tf.matMul(q, k, false, true).mul(this.headSize ** -0.5); // (B, nh, T, hs) @ (B, nh, hs, T) -> (B, nh, T, T)
    return causalSoftmax(att as tf.Tensor4D); // (B, nh, T, T)
  }

  attention(x: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const [q, k] = this.qkv(x);
      return this.weights(q, k);
    });
  }

  /** x (B, T, C) -> (B, T, C) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T, C] = x.shape;
      const [q, k, v] = this.qkv(x);
      const att = this.attnDropout.forward(this.weights(q, k)); // (B, nh, T, T)
      const y = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B, T, C]); // (B, nh, T, hs) -> (B, T, C)
      return this.residDropout.forward(this.cProj.forward(y as tf.Tensor3D));
    });
  }
}
