/** Several heads of causal self-attention in parallel: per head (as the lecture) and batched (as nanoGPT). */
import * as tf from "@tensorflow/tfjs";
import * as fast from "../engine/fast";
import { AttentionHooks, causalSoftmax, Head, type AttentionHook } from "./attention";
import { Dropout, Linear } from "./layers";
import { checkSizes, Module } from "./module";

/** Each head's share of the channels: nEmbd / nHead, which must divide evenly. `where` names the caller. */
export function headSizeOf(nEmbd: number, nHead: number, where: string): number {
  checkSizes(where, { nEmbd, nHead });
  if (nEmbd % nHead !== 0) {
    throw new Error(`${where}: nEmbd (${nEmbd}) must be divisible by nHead (${nHead}), so that each head gets nEmbd / nHead channels.`);
  }
  return nEmbd / nHead;
}

export interface AttentionOptions {
  /** Follow the heads with a Linear projection back into the residual stream (from the residual step on). */
  projection?: boolean;
  dropout?: number;
}

/** The common face of both implementations: x (B, T, C) in, (B, T, C) out. */
export interface SelfAttention extends Module {
  readonly numHeads: number;
  forward(x: tf.Tensor3D): tf.Tensor3D;
}

/** numHeads Heads side by side, their outputs concatenated along C: (B, T, numHeads·headSize). */
export class MultiHeadAttention extends Module implements SelfAttention {
  readonly heads: Head[];
  readonly proj?: Linear;
  readonly dropout: Dropout;

  constructor(readonly nEmbd: number, readonly numHeads: number, readonly headSize: number, { projection = true, dropout = 0 }: AttentionOptions = {}) {
    super();
    checkSizes("MultiHeadAttention", { nEmbd, numHeads, headSize });
    this.heads = Array.from({ length: numHeads }, (_, i) => this.module(`heads.${i}`, new Head(nEmbd, headSize, { dropout })));
    if (projection) this.proj = this.module("proj", new Linear(numHeads * headSize, nEmbd));
    this.dropout = this.module("dropout", new Dropout(dropout));
  }

  /** x (B, T, C) -> (B, T, C) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const out = tf.concat(this.heads.map((h) => h.forward(x)), -1) as tf.Tensor3D; // (B, T, numHeads·hs)
      return this.proj ? this.dropout.forward(this.proj.forward(out)) : out;
    });
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
  private readonly hooks = new AttentionHooks<tf.Tensor4D>();

  constructor(readonly nEmbd: number, readonly numHeads: number, { dropout = 0 }: Omit<AttentionOptions, "projection"> = {}) {
    super();
    this.headSize = headSizeOf(nEmbd, numHeads, "CausalSelfAttention");
    this.cAttn = this.module("c_attn", new Linear(nEmbd, 3 * nEmbd, { bias: false }));
    this.cProj = this.module("c_proj", new Linear(nEmbd, nEmbd));
    this.attnDropout = this.module("attn_dropout", new Dropout(dropout));
    this.residDropout = this.module("resid_dropout", new Dropout(dropout));
  }

  /** x (B, T, C) -> (B, T, C) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const qkv = this.cAttn.forward(x); // (B, T, 3C)
      if (this.hooks.active) {
        const [q, k] = this.splitHeads(qkv);
        this.hooks.call(this.weights(q, k)); // what onAttention's hooks see
      }
      const y = fast.causalAttention(qkv, this.numHeads, this.headSize ** -0.5, this.attnDropout) ?? this.attend(qkv); // (B, T, C)
      return this.residDropout.forward(this.cProj.forward(y));
    });
  }

  /** qkv (B, T, 3C) -> [q, k, v], each (B, nh, T, hs) */
  private splitHeads(qkv: tf.Tensor3D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    const [B, T] = qkv.shape;
    const [q, k, v] = tf.split(qkv, 3, -1).map((t) => t.reshape([B, T, this.numHeads, this.headSize]).transpose([0, 2, 1, 3]) as tf.Tensor4D);
    return [q, k, v];
  }

  /** Every head's attention weights, the causal softmax of q·kᵀ / √hs: q, k (B, nh, T, hs) -> (B, nh, T, T) */
  private weights(q: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D {
    const scores = tf.matMul(q, k, false, true).mul(this.headSize ** -0.5) as tf.Tensor4D; // (B, nh, T, hs) @ (B, nh, hs, T) -> (B, nh, T, T)
    return causalSoftmax(scores);
  }

  /** Every head's causal self-attention: qkv (B, T, 3C) -> y (B, T, C), head h's output in columns h·hs..(h+1)·hs. */
  private attend(qkv: tf.Tensor3D): tf.Tensor3D {
    const [B, T, C3] = qkv.shape;
    const [q, k, v] = this.splitHeads(qkv); // 3 × (B, nh, T, hs)
    const att = this.attnDropout.forward(this.weights(q, k)); // (B, nh, T, T)
    return tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B, T, C3 / 3]) as tf.Tensor3D; // (B, nh, T, hs) -> (B, T, C)
  }

  /** Calls `hook` with every head's attention weights (B, nHead, T, T) of each forward pass, until the returned function is called. */
  onAttention(hook: AttentionHook<tf.Tensor4D>): () => void {
    return this.hooks.add(hook);
  }
}
