import * as tf from "@tensorflow/tfjs";
import * as fast from "../engine/fast";

/**
 * F.cross_entropy: the mean over rows of −log softmax(logits)[target].
 * logits (N, V) float32, targets (N) int32 -> scalar
 * A target outside [0, V) makes the loss NaN (a one-hot of it would be a zero row, a silent zero loss). PyTorch raises
 * there; a tensor op cannot without reading the targets back, so trainStep, which reads the loss, raises and names the id.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return fast.crossEntropy(logits, targets) ?? tf.tidy(() => {
    const vocabSize = logits.shape[1];
    const logProbs = tf.logSoftmax(logits); // (N, V)
    const picked = logProbs.mul(tf.oneHot(targets, vocabSize)).sum(1); // (N): log-probability of each target
    const valid = targets.greaterEqual(0).logicalAnd(targets.less(vocabSize)); // (N)
    return tf.where(valid, picked, tf.fill(picked.shape, NaN)).mean().neg() as tf.Scalar;
  });
}
