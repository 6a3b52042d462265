/** What every model of the course is: tokens in, next-token logits out, a loss against the targets. */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { crossEntropy } from "../nn/loss";

export abstract class LanguageModel extends Module {
  abstract readonly vocabSize: number;
  /** The longest context the model can see; generation crops to it. Undefined: any length (the bigram model). */
  abstract readonly blockSize: number | undefined;

  /** idx (B, T) int32 -> logits (B, T, vocabSize) */
  abstract forward(idx: tf.Tensor2D): tf.Tensor3D;

  /** The mean cross-entropy of the logits against targets (B, T) int32 -> scalar. */
  loss(idx: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const logits = this.forward(idx); // (B, T, V)
      const [B, T, V] = logits.shape;
      return crossEntropy(logits.reshape([B * T, V]), targets.reshape([B * T]));
    });
  }
}
