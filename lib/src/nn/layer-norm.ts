import * as tf from "@tensorflow/tfjs";
import * as fast from "../engine/fast";
import { checkSizes, Module } from "./module";

/**
 * nn.LayerNorm over the last dimension: each token's vector is normalised to mean 0 and variance 1, then scaled
 * and shifted by learned (C) parameters. Unlike batch norm it normalises rows, not columns: no running statistics,
 * no difference between training and evaluation.
 */
export class LayerNorm extends Module {
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(readonly normalizedShape: number, readonly eps = 1e-5) {
    super();
    checkSizes("LayerNorm", { normalizedShape });
    if (!(eps > 0)) throw new Error(`LayerNorm: eps must be > 0, got ${eps}.`);
    this.initialised = true; // ones and zeros, as PyTorch: nothing to draw
    this.weight = this.parameter("weight", tf.ones([normalizedShape]) as tf.Tensor1D);
    this.bias = this.parameter("bias", tf.zeros([normalizedShape]) as tf.Tensor1D);
  }

  /** x (..., C) -> (..., C) */
  forward<T extends tf.Tensor>(x: T): T {
    return fast.layerNorm(x, this.weight, this.bias, this.eps) ?? tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true); // (..., 1) each; biased variance, as PyTorch
      return x.sub(mean).div(variance.add(this.eps).sqrt()).mul(this.weight).add(this.bias) as T;
    });
  }
}
