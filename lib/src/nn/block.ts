import * as tf from "@tensorflow/tfjs";
import { FeedForward } from "./feed-forward";
import { LayerNorm } from "./layer-norm";
import { Module } from "./module";
import { CausalSelfAttention, headSizeOf, MultiHeadAttention, type SelfAttention } from "./multi-head";

export interface BlockOptions {
  /** Pre-norm LayerNorms before attention and feed-forward (the lecture's last step); default true. */
  layerNorm?: boolean;
  /** "heads": one Head module per head (the lecture); "batched": nanoGPT's CausalSelfAttention. Same maths. */
  attention?: "heads" | "batched";
  dropout?: number;
}

/** A transformer block: communication (self-attention) then computation (feed-forward), each on a residual path. */
export class Block extends Module {
  readonly sa: SelfAttention;
  readonly ffwd: FeedForward;
  readonly ln1?: LayerNorm;
  readonly ln2?: LayerNorm;

  constructor(readonly nEmbd: number, readonly nHead: number, { layerNorm = true, attention = "heads", dropout = 0 }: BlockOptions = {}) {
    super();
    const headSize = headSizeOf(nEmbd, nHead, "Block");
    this.sa = this.module("sa", attention === "batched"
      ? new CausalSelfAttention(nEmbd, nHead, { dropout })
      : new MultiHeadAttention(nEmbd, nHead, headSize, { dropout }));
    this.ffwd = this.module("ffwd", new FeedForward(nEmbd, { dropout }));
    if (layerNorm) {
      this.ln1 = this.module("ln1", new LayerNorm(nEmbd));
      this.ln2 = this.module("ln2", new LayerNorm(nEmbd));
    }
  }

  /** x (B, T, C) -> (B, T, C): x + sa(ln1(x)), then x + ffwd(ln2(x)) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const norm1 = this.ln1 ? this.ln1.forward(x) : x;
      const x1 = x.add(this.sa.forward(norm1)) as tf.Tensor3D;
      const norm2 = this.ln2 ? this.ln2.forward(x1) : x1;
      return x1.add(this.ffwd.forward(norm2)) as tf.Tensor3D;
    });
  }
}
