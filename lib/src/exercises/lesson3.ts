/**
 * Lesson 3's exercises: the averaging trick.
 *   3.1 version 2's weights: a lower triangle, each row an average      checkWeights(weights)
 *   3.2 the masked softmax over a batch of affinities (B, T, T)       checkMaskedSoftmax(maskedSoftmax)
 *   3.3 token embeddings plus position embeddings                     checkPositions(embed)
 * Each compares with the library's averagingWeights, causalSoftmax and Embedding, and names the usual slips.
 */
import * as tf from "@tensorflow/tfjs";
import { averagingWeights } from "../nn/averaging";
import { causalMask, causalSoftmax } from "../nn/attention";
import { Embedding } from "../nn/layers";
import { Rng } from "../random";
import { tidyFindings } from "./tidy";
import { closeTensor, report, verdict, type Finding, type Verdict } from "./verdict";

/** The first of `slips` whose tensor `got` equals (same shape, within 1e-5), as a finding; undefined when none does. */
function whichSlip(got: unknown, slips: [string, tf.Tensor][]): Finding | undefined {
  if (!(got instanceof tf.Tensor)) return undefined;
  for (const [line, wrong] of slips) {
    if (wrong.shape.join() !== got.shape.join()) continue;
    const d = tf.tidy(() => wrong.sub(got as tf.Tensor).abs().max().dataSync()[0]);
    if (d < 1e-5) return { ok: false, line };
  }
  return undefined;
}

// ---- 3.1 -------------------------------------------------------------------------------------------------------

/** 3.1: the learner's weights(T) (T, T) against the library's averagingWeights(T), for T = 3 and 8. */
export function checkWeights(weights: (T: number) => tf.Tensor2D): Verdict {
  return report(verdict("Exercise 3.1 — version 2's weights", () => tidyFindings(() => {
    const findings = [3, 8].map((T) => closeTensor(`weights(${T})`, weights(T), averagingWeights(T), 1e-6));
    if (!findings[0].ok) {
      const T = 3;
      const tril = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // (T, T)
      const slip = whichSlip(weights(T), [
        ["row t holds running sums, not averages: each row must add up to 1", tril],
        ["every row divided by T: row t has only t + 1 entries to share its weight among", tril.div(T)],
        ["the triangle is above the diagonal: row t must take from columns 0..t, its past", averagingWeights(T).transpose()],
        ["the columns add up to 1, not the rows: divide each row by the row's own sum", tril.div(tril.sum(0, true))],
      ]);
      if (slip) findings.push(slip);
    }
    return findings;
  })));
}

// ---- 3.2 -------------------------------------------------------------------------------------------------------

/** The batches 3.2 is checked on: B differs from T, so that a softmax or a mask along the wrong axis shows. */
const SOFTMAX_BATCHES: [number, number][] = [[3, 5], [2, 8]];

/**
 * 3.2: the learner's maskedSoftmax(affinities (B, T, T)) against the library's causalSoftmax, on random affinities,
 * one (T, T) matrix for each sequence of the batch.
 */
export function checkMaskedSoftmax(maskedSoftmax: (affinities: tf.Tensor3D) => tf.Tensor3D): Verdict {
  return report(verdict("Exercise 3.2 — the masked softmax of a batch", () => tidyFindings(() => {
    const rng = new Rng(32);
    const findings: Finding[] = [];
    for (const [B, T] of SOFTMAX_BATCHES) {
      const affinities = tf.randomNormal([B, T, T], 0, 2, "float32", rng.seed()) as tf.Tensor3D;
      const got = maskedSoftmax(affinities);
      findings.push(closeTensor(`maskedSoftmax of random (${B}, ${T}, ${T}) affinities`, got, causalSoftmax(affinities), 1e-6));
      if (findings.some((f) => !f.ok)) {
        const slip = whichSlip(got, softmaxSlips(affinities));
        if (slip) findings.push(slip);
        break;
      }
    }
    return findings;
  })));
}

/** The usual slips of a masked softmax, each with what it computes. affinities (B, T, T) */
function softmaxSlips(affinities: tf.Tensor3D): [string, tf.Tensor][] {
  const T = affinities.shape[2];
  const past = causalMask(T); // (T, T)
  const minusInf = tf.fill(affinities.shape, -Infinity);
  return [
    ["no mask: every token also takes from its future", tf.softmax(affinities, -1)],
    ["the future was set to 0, and exp(0) = 1 still gives it a share: it needs a number whose exp is 0", tf.softmax(tf.where(past, affinities, tf.zerosLike(affinities)), -1)],
    ["the mask is upside down: it hides the past and keeps the future", tf.softmax(tf.where(past.transpose(), affinities, minusInf), -1)],
    ["the future was zeroed after the softmax, so the rows no longer sum to 1: mask first, then softmax", tf.where(past, tf.softmax(affinities, -1), tf.zerosLike(affinities))],
  ];
}

// ---- 3.3 -------------------------------------------------------------------------------------------------------

/**
 * 3.3: the learner's embed(idx (B, T), tokenTable, positionTable) -> (B, T, C) — each token's vector plus its
 * position's vector — on a batch shorter than the position table (T = 5 of blockSize 8) and on a full one.
 */
export function checkPositions(embed: (idx: tf.Tensor2D, tokenTable: Embedding, positionTable: Embedding) => tf.Tensor3D): Verdict {
  const [vocabSize, blockSize, C] = [65, 8, 4];
  const tokenTable = new Embedding(vocabSize, C).initWeights(new Rng(33));
  const positionTable = new Embedding(blockSize, C).initWeights(new Rng(34));
  try {
    return report(verdict("Exercise 3.3 — adding positions", () => tidyFindings(() => {
      const rng = new Rng(35);
      return [5, blockSize].map((T) => {
        const idx = tf.tensor2d(Array.from({ length: 2 * T }, () => rng.int(vocabSize)), [2, T], "int32");
        const expected = tokenTable.forward(idx).add(positionTable.forward(tf.range(0, T, 1, "int32").reshape([1, T]) as tf.Tensor2D)); // (2, T, C) + (1, T, C)
        return closeTensor(`embed of a (2, ${T}) batch`, embed(idx, tokenTable, positionTable), expected, 1e-6);
      });
    })));
  } finally {
    tokenTable.dispose();
    positionTable.dispose();
  }
}
