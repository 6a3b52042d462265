/** Lesson 4's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "4.1": {
    nudge: "An affinity is a dot product of a query with a key, scaled so that its variance does not grow with the head size.",
    recipe: "q @ kᵀ is tf.matMul(q, k, false, true) — (B, T, hs) @ (B, hs, T') -> (B, T, T') — then multiply by headSize ** -0.5 (headSize = q.shape[2]).",
  },
  "4.2": {
    nudge: "A head is Lesson 3's version 3 with affinities computed from the tokens: the queries and keys give the affinities, the values are what gets averaged. The version 4 cells above hold every step.",
    recipe: "in forward, inside tf.tidy: k = this.key.forward(x) and q = this.query.forward(x), (B, T, hs); the affinities q @ kᵀ times this.headSize ** -0.5, (B, T, T); −∞ above the diagonal and a softmax along the last axis (causalSoftmax does both, or your maskedSoftmax of Lesson 3); then tf.matMul(wei, this.value.forward(x)), (B, T, hs).",
  },
  "4.3": {
    nudge: "Variances of independent terms add; scaling a quantity by s scales its variance by s².",
    recipe: "Each affinity is a sum of headSize products q_i·k_i, each of variance 1; variances of independent terms add. Multiplying by a number s multiplies the variance by s².",
  },
};
