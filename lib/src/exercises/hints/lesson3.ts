/** Lesson 3's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "3.1": {
    nudge: "The triangle of ones gives running sums. An average is a sum divided by how many numbers went into it, and row t of the triangle counts them.",
    recipe: "start from ones on and below the diagonal, tf.linalg.bandPart(tf.ones([T, T]), -1, 0) (torch.tril), and divide each row by its sum, w.div(w.sum(1, true)) (keepDims, so that the (T, 1) sums broadcast along the rows): row t then holds 1/(t+1) in columns 0..t.",
  },
  "3.2": {
    nudge: "The future must get weight exactly 0 after the softmax, in every sequence of the batch: which number has exp(x) = 0? And a (T, T) mask broadcasts over the B matrices.",
    recipe: "const T = affinities.shape[2]; set every entry above the diagonal to -Infinity, tf.where(causalMask(T), affinities, tf.fill(affinities.shape, -Infinity)) (the (T, T) mask broadcasts over the batch), then tf.softmax(masked, -1): each row is then a distribution over positions 0..t.",
  },
  "3.3": {
    nudge: "Every position adds its own learned vector, the same for every sequence in the batch, and a batch may be shorter than the position table.",
    recipe: "look up the tokens, tokenTable.forward(idx) (B, T, C), and the positions 0..T-1 of this batch, positionTable.forward(tf.range(0, T, 1, 'int32').reshape([1, T])) (1, T, C), and add them: the positions broadcast over the batch. T can be less than the block size.",
  },
};
