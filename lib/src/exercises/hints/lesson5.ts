/** Lesson 5's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "5.1": {
    nudge: "Count each Linear layer's weights (in × out) and biases (out): the heads share nothing, the projection is one layer.",
    recipe: "Each head has key, query and value: three Linear(C, C / nHead) without bias. All nHead heads together: 3·C·C. The projection is Linear(C, C) with bias: C·C + C.",
  },
  "5.2": {
    nudge: "Follow one tensor through the block: which dimension does each step change, and which does it keep?",
    recipe: "A head works in headSize = C / nHead channels; its affinities compare every position with every position (T × T); the heads side by side give C back; the feed-forward layer widens to 4C inside; a block keeps (B, T, C).",
  },
  "5.3": {
    nudge: "Batch norm's statistics are a column's, taken across the batch; LayerNorm's are a row's: each token's own C numbers. Then the gain and the shift, as in batch norm.",
    recipe: "const { mean, variance } = tf.moments(x, -1, true) (the last axis, kept for broadcasting; tf.moments divides by C); then x.sub(mean).div(variance.add(this.eps).sqrt()).mul(this.weight).add(this.bias), inside tf.tidy, returned as T.",
  },
  "5.4": {
    nudge: "Pre-norm: each branch reads a normalised copy of the stream, and its result is added to the stream, which is never normalised itself.",
    recipe: "Inside tf.tidy: const x1 = x.add(this.sa.forward(this.ln1.forward(x))); return x1.add(this.ffwd.forward(this.ln2.forward(x1))).",
  },
};
