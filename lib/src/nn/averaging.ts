/**
 * Lesson 3's mathematical trick: every token gets the average of itself and the tokens before it ("bag of words",
 * xbow), computed three ways that give the same numbers. Version 3 is the shape self-attention takes.
 */
import * as tf from "@tensorflow/tfjs";
import { causalSoftmax } from "./attention";

/** Version 1, with for loops: xbow[b, t] = mean(x[b, 0..t]). x (B, T, C) -> xbow (B, T, C) */
export function xbowLoop(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C] = x.shape;
    const rows: tf.Tensor1D[] = [];
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const xprev = x.slice([b, 0, 0], [1, t + 1, C]).reshape([t + 1, C]); // (t+1, C)
        rows.push(xprev.mean(0)); // (C)
      }
    }
    return tf.stack(rows).reshape([B, T, C]) as tf.Tensor3D;
  });
}

/** Version 2's weights: a lower-triangular matrix of ones, each row divided by its sum. (T, T) */
export function averagingWeights(T: number): tf.Tensor2D {
  return tf.tidy(() => {
    const tril = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // (T, T): ones on and below the diagonal
    return tril.div(tril.sum(1, true)) as tf.Tensor2D; // each row sums to 1
  });
}

/** Version 2, a matrix multiply: xbow = wei @ x. x (B, T, C) -> xbow (B, T, C) */
export function xbowMatmul(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const wei = averagingWeights(x.shape[1]); // (T, T)
    return tf.matMul(wei, x) as tf.Tensor3D; // (T, T) @ (B, T, C) -> (B, T, C), wei broadcast over the batch
  });
}

/** Version 3's weights: softmax over all-zero affinities with −∞ above the diagonal. (T, T) */
export function softmaxWeights(T: number): tf.Tensor2D {
  return tf.tidy(() => causalSoftmax(tf.zeros([T, T]) as tf.Tensor2D)); // (T, T)
}

/** Version 3, softmax: the same average, in the form self-attention uses. x (B, T, C) -> xbow (B, T, C) */
export function xbowSoftmax(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const wei = softmaxWeights(x.shape[1]); // (T, T)
    return tf.matMul(wei, x) as tf.Tensor3D; // (T, T) @ (B, T, C) -> (B, T, C)
  });
}
