/** The layers the lecture takes from torch.nn, initialised as PyTorch does by default. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { Module } from "./module";

/** nn.Embedding: a (numEmbeddings, embeddingDim) table; row i is token i's vector. Initialised from N(0, 1). */
export class Embedding extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, rng: Rng = new Rng()) {
    super();
    this.weight = this.parameter("weight", tf.randomNormal([numEmbeddings, embeddingDim], 0, 1, "float32", rng.seed()));
  }

  /** idx (B, T) int32 -> (B, T, C) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.weight, idx) as tf.Tensor as tf.Tensor3D;
  }
}

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
}

/**
 * nn.Linear: y = x Wᵀ + b, with W stored (out, in) as in PyTorch.
 * Initialised from U(-1/√in, 1/√in), PyTorch's default.
 */
export class Linear extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias?: tf.Variable<tf.Rank.R1>;

  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true, rng = new Rng() }: LinearOptions = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.parameter("weight", tf.randomUniform([outFeatures, inFeatures], -bound, bound, "float32", rng.seed()));
    if (bias) this.bias = this.parameter("bias", tf.randomUniform([outFeatures], -bound, bound, "float32", rng.seed()));
  }

  /** x (..., in) -> (..., out) */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const shape = x.shape;
      const x2 = x.reshape([-1, this.inFeatures]); // (N, in)
      let y = tf.matMul(x2, this.weight, false, true); // (N, out)
      if (this.bias) y = y.add(this.bias);
      return y.reshape([...shape.slice(0, -1), this.outFeatures]) as T;
    });
  }
}

/** nn.Dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p); in eval, the identity. */
export class Dropout extends Module {
  constructor(readonly p: number, private readonly rng: Rng = new Rng()) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout probability must be in [0, 1), got ${p}.`);
  }

  forward<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.p === 0) return x;
    return tf.dropout(x, this.p, undefined, this.rng.seed()) as T;
  }
}
