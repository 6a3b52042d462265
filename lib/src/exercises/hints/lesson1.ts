/** Lesson 1's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "1.1": {
    nudge: "A token is a position in the sorted list of characters (sorted, not in the order the text first uses them); decoding is the same lookup the other way round.",
    recipe: "a character's token is its index in the sorted list chars (chars.indexOf(c), or a Map built once); decode looks the index up again (chars[i]) and joins the characters into one string.",
  },
  "1.2": {
    nudge: "A chunk of blockSize + 1 tokens holds one example per context length, 1 to blockSize: the context grows, the target is always the next token.",
    recipe: "for t = 0 … blockSize − 1 the context is chunk[0 … t] (t + 1 tokens, chunk.slice(0, t + 1)) and the target is the next token, chunk[t + 1].",
  },
  "1.3": {
    nudge: "Each offset starts one row of x; y is the same window shifted by one token.",
    recipe: "row b of x is data[i … i + blockSize − 1] for i = offsets[b] (data.subarray(i, i + blockSize)); row b of y starts one token later, data.subarray(i + 1, i + blockSize + 1).",
  },
};
