/**
 * Lesson 3's exercises: version 2's weights matrix (3.1), the masked softmax of version 3 (3.2), token embeddings
 * plus position embeddings (3.3). Each is compared with the library's averagingWeights, causalSoftmax and Embedding.
 */
import * as tf from "@tensorflow/tfjs";
import { averagingWeights } from "../nn/averaging";
import { causalSoftmax } from "../nn/attention";
import { Embedding } from "../nn/layers";
import { Rng } from "../random";
import { tidyFindings } from "./tidy";
import { closeTensor, report, verdict, type Verdict } from "./verdict";

/** Exercise 3.1: the learner's weights(T) (T, T) against the library's averagingWeights(T), for T = 3 and 8. */
export function weightsVerdict(weights: (T: number) => tf.Tensor2D): Verdict {
  return verdict("Exercise 3.1 — version 2's weights", () => tidyFindings(() =>
    [3, 8].map((T) => closeTensor(`weights(${T})`, weights(T), averagingWeights(T), 1e-6)),
  ));
}

export function checkWeights(weights: (T: number) => tf.Tensor2D): void {
  report(weightsVerdict(weights));
}

/** Exercise 3.2: the learner's maskedSoftmax(affinities (T, T)) against the library's causalSoftmax, on random affinities. */
export function maskedSoftmaxVerdict(maskedSoftmax: (affinities: tf.Tensor2D) => tf.Tensor2D): Verdict {
  return verdict("Exercise 3.2 — the masked softmax", () => tidyFindings(() => {
    const rng = new Rng(32);
    return [4, 8].map((T) => {
      const affinities = tf.randomNormal([T, T], 0, 2, "float32", rng.seed()) as tf.Tensor2D;
      return closeTensor(`maskedSoftmax of random (${T}, ${T}) affinities`, maskedSoftmax(affinities), causalSoftmax(affinities), 1e-6);
    });
  }));
}

export function checkMaskedSoftmax(maskedSoftmax: (affinities: tf.Tensor2D) => tf.Tensor2D): void {
  report(maskedSoftmaxVerdict(maskedSoftmax));
}

/**
 * Exercise 3.3: the learner's embed(idx (B, T), tokenTable, positionTable) -> (B, T, C) — each token's vector plus its
 * position's vector — on a batch shorter than the position table (T = 5 of blockSize 8) and on a full one.
 */
export function positionsVerdict(embed: (idx: tf.Tensor2D, tokenTable: Embedding, positionTable: Embedding) => tf.Tensor3D): Verdict {
  const [vocabSize, blockSize, C] = [65, 8, 4];
  const tokenTable = new Embedding(vocabSize, C).initWeights(new Rng(33));
  const positionTable = new Embedding(blockSize, C).initWeights(new Rng(34));
  try {
    return verdict("Exercise 3.3 — adding positions", () => tidyFindings(() => {
      const rng = new Rng(35);
      return [5, blockSize].map((T) => {
        const idx = tf.tensor2d(Array.from({ length: 2 * T }, () => rng.int(vocabSize)), [2, T], "int32");
        const expected = tokenTable.forward(idx).add(positionTable.forward(tf.range(0, T, 1, "int32").reshape([1, T]) as tf.Tensor2D)); // (2, T, C) + (1, T, C)
        return closeTensor(`embed of a (2, ${T}) batch`, embed(idx, tokenTable, positionTable), expected, 1e-6);
      });
    }));
  } finally {
    tokenTable.dispose();
    positionTable.dispose();
  }
}

export function checkPositions(embed: (idx: tf.Tensor2D, tokenTable: Embedding, positionTable: Embedding) => tf.Tensor3D): void {
  report(positionsVerdict(embed));
}
