/** Lesson 4's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "4.1": {
    nudge: "An affinity is a dot product of a query with a key, scaled so that its variance does not grow with the head size.",
    recipe: "q @ kᵀ is tf.matMul(q, k, false, true) — (B, T, hs) @ (B, hs, T') -> (B, T, T') — then multiply by headSize ** -0.5 (headSize = q.shape[2]).",
  },
  "4.2": {
    nudge: "A head is versions 3 of Lesson 3 with data-dependent affinities: keys and queries give the scores, values are what gets averaged.",
    recipe: "k = head.key.forward(x), q = head.query.forward(x); affinities q·kᵀ × headSize^-0.5; −∞ above the diagonal; softmax over the last axis; then wei @ head.value.forward(x).",
  },
  "4.3": {
    nudge: "Variances of independent terms add; scaling a quantity by s scales its variance by s².",
    recipe: "Each affinity is a sum of headSize products q_i·k_i, each of variance 1; variances of independent terms add. Multiplying by a number s multiplies the variance by s².",
  },
};
