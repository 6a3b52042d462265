/**
 * A shape trace: a GPT's forward pass one operation at a time, down to one sampled character per sequence, with the
 * shape after each step and the dimensions it stands for. The steps call the model's own layers, and the trace's
 * logits are checked against the model's forward pass, so the trace cannot drift from the model.
 */
import * as tf from "@tensorflow/tfjs";
import type { GPTLanguageModel } from "../models/gpt";
import { causalSoftmax, scaledAffinities } from "../nn/attention";
import { MultiHeadAttention } from "../nn/multi-head";
import type { Rng } from "../random";
import { largestDifference } from "./compare";
import type { Row } from "./show";

export interface ShapeTrace {
  /** One row a step: the stage, its shape, what the dimensions are. */
  rows: Row[];
  /** The character index sampled for each sequence at the last position. */
  sampled: number[];
  /** The sampled characters' probabilities. */
  probabilities: number[];
}

/**
 * Traces `model` (a GPTLanguageModel whose blocks use the lecture's Head modules) on idx (B, T) and samples one token
 * per sequence from the last position's probabilities. Throws if the traced logits are not the model's.
 */
export async function traceShapes(model: GPTLanguageModel, idx: tf.Tensor2D, rng: Rng): Promise<ShapeTrace> {
  const block = model.blocks[0];
  if (!(block.sa instanceof MultiHeadAttention)) throw new Error("traceShapes follows the lecture's Head modules: build the model with attention: \"heads\".");
  const sa = block.sa;
  const rows: Row[] = [];
  const record = (stage: string, t: tf.Tensor, dimensions: string) => rows.push({ stage, shape: `(${t.shape.join(", ")})`, dimensions });
  const [logits, probs] = tf.tidy(() => {
    const T = idx.shape[1];
    record("token ids", idx, "(B, T)");
    const tok = model.tokenEmbeddingTable.forward(idx);
    record("token embeddings", tok, "(B, T, C)");
    const pos = tf.gather(model.positionEmbeddingTable.weight, tf.range(0, T, 1, "int32"));
    record("position embeddings", pos, "(T, C)");
    let x = tok.add(pos) as tf.Tensor3D;
    record("x = token + position (broadcast over B)", x, "(B, T, C)");
    model.blocks.forEach((b, i) => {
      const first = i === 0;
      const n1 = b.ln1 ? b.ln1.forward(x) : x;
      if (first && b.ln1) record("block 0: ln1(x)", n1, "(B, T, C)");
      if (first) {
        const h = sa.heads[0];
        const q = h.query.forward(n1);
        record("block 0, head 0: query (key, value alike)", q, "(B, T, head_size)");
        const affinities = scaledAffinities(q, h.key.forward(n1));
        record("block 0, head 0: q · kᵀ / √head_size", affinities, "(B, T, T)");
        const wei = causalSoftmax(affinities);
        record("block 0, head 0: masked softmax", wei, "(B, T, T)");
        record("block 0, head 0: wei · v", tf.matMul(wei, h.value.forward(n1)), "(B, T, head_size)");
        record(`block 0: ${sa.heads.length} heads concatenated`, tf.concat(sa.heads.map((head) => head.forward(n1)), -1), "(B, T, n_head · head_size) = (B, T, C)");
      }
      const x1 = x.add(b.sa.forward(n1)) as tf.Tensor3D;
      if (first) record("block 0: x + projection of the heads (residual)", x1, "(B, T, C)");
      const n2 = b.ln2 ? b.ln2.forward(x1) : x1;
      if (first) record("block 0: feed-forward hidden layer, after ReLU", tf.relu(b.ffwd.fc.forward(n2)), "(B, T, 4C)");
      x = x1.add(b.ffwd.forward(n2)) as tf.Tensor3D;
      if (first) record(`block 0: x + feed-forward (residual): the block's output${model.blocks.length > 1 ? `, and so on through ${model.blocks.length} blocks` : ""}`, x, "(B, T, C)");
    });
    const y = model.lnF ? model.lnF.forward(x) : x;
    const out = model.lmHead.forward(y);
    record(`${model.lnF ? "lm_head(ln_f(x))" : "lm_head(x)"}: logits`, out, "(B, T, vocab_size)");
    const last = out.slice([0, T - 1, 0], [-1, 1, -1]).squeeze([1]);
    record("logits at the last position", last, "(B, vocab_size)");
    const p = tf.softmax(last, -1);
    record("softmax: next-token probabilities", p, "(B, vocab_size)");
    return [out, p];
  });
  try {
    const own = model.inEvalMode(() => model.forward(idx));
    const difference = await largestDifference(logits, own);
    own.dispose();
    if (difference > 1e-5) throw new Error(`the trace's logits differ from the model's forward pass by ${difference}`);
    const table = (await probs.array()) as number[][];
    const sampled = table.map((row) => rng.sample(row));
    rows.push({ stage: "one token sampled per sequence", shape: `(${sampled.length}, 1)`, dimensions: "(B, 1)" });
    return { rows, sampled, probabilities: sampled.map((s, b) => table[b][s]) };
  } finally {
    tf.dispose([logits, probs]);
  }
}
