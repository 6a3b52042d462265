/** Lesson 6's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "6.1": {
    nudge: "All heads at once: one Linear makes every head's q, k and v, and the heads become a batch dimension.",
    recipe: "split c_attn's output (B, T, 3C) in three along the last axis; reshape each to (B, T, nHead, headSize) and transpose to (B, nHead, T, headSize); the scores are q @ kᵀ times headSize^-0.5 (not C^-0.5), masked and softmaxed with causalSoftmax; multiply by v, transpose back to (B, T, nHead, headSize), reshape to (B, T, C) and apply c_proj.",
  },
  "6.2": {
    nudge: "Add up each layer's weight matrices and bias vectors; the number of heads does not change the total.",
    recipe: "count what each layer holds: the two embedding tables (vocabSize·C and blockSize·C); per block two LayerNorms (2·C each), the heads' query, key and value (3·C², no bias), the projection (C² + C), the feed-forward layer (C·4C + 4C, then 4C·C + C); then the final LayerNorm (2·C) and lm_head (C·vocabSize + vocabSize).",
  },
  "6.3": {
    nudge: "The same four steps as for Shakespeare: a tokenizer of your text, a model of its vocabulary, training, generation.",
    recipe: "build the tokenizer with CharTokenizer.fromText(text), the model with new GPTLanguageModel({ vocabSize: tokenizer.vocabSize, ... }, rng), train it with train(...) on trainValSplit(tokenizer.encode(text)), and decode what generate returns.",
  },
};
