import * as tf from "@tensorflow/tfjs";

/**
 * F.cross_entropy: the mean over rows of −log softmax(logits)[target].
 * logits (N, V) float32, targets (N) int32 -> scalar
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const vocabSize = logits.shape[1];
    const logProbs = tf.logSoftmax(logits); // (N, V)
    const picked = logProbs.mul(tf.oneHot(targets, vocabSize)).sum(1); // (N): log-probability of each target
    return picked.mean().neg() as tf.Scalar;
  });
}
