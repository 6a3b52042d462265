/** The layers the lecture takes from torch.nn. Their values are drawn by Module.initWeights, as PyTorch draws them. */
import * as tf from "@tensorflow/tfjs";
import * as fast from "../engine/fast";
import { Rng } from "../random";
import { checkSizes, Module, type InitOptions } from "./module";

/**
 * nn.Embedding: a (numEmbeddings, embeddingDim) table; row i is token i's vector.
 * Initialised from N(0, 1) as in PyTorch, or N(0, std²) when initWeights is given `std` (gpt.py: 0.02).
 */
export class Embedding extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number) {
    super();
    checkSizes("Embedding", { numEmbeddings, embeddingDim });
    this.weight = this.parameter("weight", tf.zeros([numEmbeddings, embeddingDim]) as tf.Tensor2D);
  }

  protected override resetParameters(rng: Rng, { std = 1 }: InitOptions): void {
    tf.tidy(() => this.weight.assign(tf.randomNormal(this.weight.shape, 0, std, "float32", rng.seed())));
  }

  /** idx (B, T) int32 -> (B, T, C) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    this.assertInitialised(`Embedding(${this.numEmbeddings}, ${this.embeddingDim})`);
    return tf.gather(this.weight, idx) as tf.Tensor as tf.Tensor3D;
  }
}

export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
}

/**
 * nn.Linear: y = x Wᵀ + b, with W stored (out, in) as in PyTorch.
 * Initialised from U(-1/√in, 1/√in), PyTorch's default, or N(0, std²) with a zero bias when initWeights is given `std`.
 */
export class Linear extends Module {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias?: tf.Variable<tf.Rank.R1>;

  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true }: LinearOptions = {}) {
    super();
    checkSizes("Linear", { inFeatures, outFeatures });
    this.weight = this.parameter("weight", tf.zeros([outFeatures, inFeatures]) as tf.Tensor2D);
    if (bias) this.bias = this.parameter("bias", tf.zeros([outFeatures]) as tf.Tensor1D);
  }

  protected override resetParameters(rng: Rng, { std }: InitOptions): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    const draw = (shape: number[]) => std === undefined
      ? tf.randomUniform(shape, -bound, bound, "float32", rng.seed())
      : tf.randomNormal(shape, 0, std, "float32", rng.seed());
    tf.tidy(() => {
      this.weight.assign(draw(this.weight.shape) as tf.Tensor2D);
      if (this.bias) this.bias.assign((std === undefined ? draw(this.bias.shape) : tf.zeros(this.bias.shape)) as tf.Tensor1D);
    });
  }

  /** x (..., in) -> (..., out) */
  forward<T extends tf.Tensor>(x: T): T {
    this.assertInitialised(`Linear(${this.inFeatures} → ${this.outFeatures})`);
    return fast.linear(x, this.weight, this.bias) ?? tf.tidy(() => {
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
  /** Its own random stream, drawn from the model's rng by initWeights. */
  private rng?: Rng;

  /** The stream its masks are drawn from (undefined before initWeights): a checkpoint saves and restores its state. */
  get randomStream(): Rng | undefined {
    return this.rng;
  }

  constructor(readonly p: number) {
    super();
    if (!(typeof p === "number" && p >= 0 && p < 1)) throw new Error(`Dropout probability must be a number in [0, 1), got ${JSON.stringify(p)}.`);
  }

  protected override resetParameters(rng: Rng): void {
    this.rng = new Rng(rng.seed());
  }

  /** Loading weights does not seed dropout: only initWeights does. */
  protected override loaded(): void {}

  forward<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.p === 0) return x;
    if (!this.rng) throw new Error(`Dropout(${this.p}) in training mode has no random stream yet: call initWeights(rng) on it or on the model that holds it.`);
    const seed = this.rng.seed();
    return fast.dropout(x, this.p, seed) ?? (tf.dropout(x, this.p, undefined, seed) as T);
  }
}
