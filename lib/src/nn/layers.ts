/** The layers the lecture takes from torch.nn, initialised as PyTorch does by default. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { Module } from "./module";

/**
 * nn.Embedding: a (numEmbeddings, embeddingDim) table; row i is token i's vector.
 * Initialised from N(0, 1) as in PyTorch, or N(0, std²) when `std` is given (gpt.py uses 0.02).
 */
export class Embedding extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, rng: Rng = new Rng(), { std = 1 }: { std?: number } = {}) {
    super();
    this.weight = this.parameter("weight", tf.randomNormal([numEmbeddings, embeddingDim], 0, std, "float32", rng.seed()));
  }

  /** idx (B, T) int32 -> (B, T, C) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.weight, idx) as tf.Tensor as tf.Tensor3D;
  }
}

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
  /** Initialise the weight from N(0, std²) and the bias with zeros, as gpt.py does (std 0.02). Default: PyTorch's. */
  std?: number;
}

/**
 * nn.Linear: y = x Wᵀ + b, with W stored (out, in) as in PyTorch.
 * Initialised from U(-1/√in, 1/√in), PyTorch's default, unless `std` is given.
 */
export class Linear extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias?: tf.Variable<tf.Rank.R1>;

  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true, rng = new Rng(), std }: LinearOptions = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const weight = std === undefined
      ? tf.randomUniform([outFeatures, inFeatures], -bound, bound, "float32", rng.seed())
      : tf.randomNormal([outFeatures, inFeatures], 0, std, "float32", rng.seed());
    this.weight = this.parameter("weight", weight as tf.Tensor2D);
    if (bias) {
      const b = std === undefined ? tf.randomUniform([outFeatures], -bound, bound, "float32", rng.seed()) : tf.zeros([outFeatures]);
      this.bias = this.parameter("bias", b as tf.Tensor1D);
    }
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
