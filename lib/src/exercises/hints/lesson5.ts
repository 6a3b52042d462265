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
    nudge: "A block has two residual steps, each adding a branch to the stream; the branch reads a normalised copy.",
    recipe: "Two residual steps: x = x + sa(ln1(x)), then x + ffwd(ln2(x)). Each branch reads a normalised copy; the stream itself is never normalised.",
  },
};
