/** Lesson 3's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "3.1": {
    nudge: "Version 2's weights are an average written as a matrix: row t spreads its weight evenly over positions 0..t.",
    recipe: "start from ones on and below the diagonal (tf.linalg.bandPart(tf.ones([T, T]), -1, 0), torch.tril) and divide each row by its sum (.div(w.sum(1, true))), so row t holds 1/(t+1) in columns 0..t.",
  },
  "3.2": {
    nudge: "The future must get weight exactly 0 after the softmax: what number has exp(x) = 0?",
    recipe: "set every entry above the diagonal to -Infinity (tf.where(causalMask(T), affinities, tf.fill([T, T], -Infinity))), then tf.softmax along the last axis: the future then gets weight exp(-∞) = 0, and each row sums to 1.",
  },
  "3.3": {
    nudge: "Every position adds its own learned vector, the same for every sequence in the batch.",
    recipe: "look up the tokens, tokenTable.forward(idx) (B, T, C), and the positions 0..T-1 of this batch, positionTable.forward(tf.range(0, T, 1, \\\"int32\\\").reshape([1, T])) (1, T, C), and add them: the positions broadcast over the batch. T can be less than the block size.",
  },
};
