/** Lesson 6's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "6.1": {
    nudge: "gpt.py's forward is four steps in a row: what a token is plus where it is, the blocks, a last normalisation, the head.",
    recipe: "T = idx.shape[1]; tokEmb = this.tokenEmbeddingTable.forward(idx) (B, T, C); posEmb = this.positionEmbeddingTable.forward(tf.range(0, T, 1, \"int32\").expandDims(0)) (1, T, C), rows 0..T-1 only; x = tokEmb.add(posEmb); x = block.forward(x) for each block of this.blocks; x = this.lnF.forward(x); return this.lmHead.forward(x) (B, T, vocabSize), all inside tf.tidy.",
  },
  "6.2": {
    nudge: "All heads at once: one Linear makes every head's q, k and v, and the heads become a batch dimension.",
    recipe: "split c_attn's output (B, T, 3C) in three along the last axis; reshape each to (B, T, nHead, headSize) and transpose to (B, nHead, T, headSize); the scores are q @ kᵀ times headSize^-0.5 (not C^-0.5), masked and softmaxed with causalSoftmax; multiply by v, transpose back to (B, T, nHead, headSize), reshape to (B, T, C) and apply c_proj.",
  },
  "6.3": {
    nudge: "Add up each layer's weight matrices and bias vectors; the number of heads does not change the total.",
    recipe: "count what each layer holds: the two embedding tables (vocabSize·C and blockSize·C); per block two LayerNorms (2·C each), the heads' query, key and value (3·C², no bias), the projection (C² + C), the feed-forward layer (C·4C + 4C, then 4C·C + C); then the final LayerNorm (2·C) and lm_head (C·vocabSize + vocabSize).",
  },
};
