/**
 * Lesson 6's exercises: 6.1 the GPT's forward pass, 6.2 all heads in one batched class (the lecture's EX1), 6.3 the
 * parameter count of a GPT from its configuration. Each check compares the learner's answer with the library's own
 * classes, reports the verdict under the cell and returns it.
 */
import * as tf from "@tensorflow/tfjs";
import { gptConfigOf, named as configNamed } from "../configs";
import { GPTLanguageModel, type GPTConfig } from "../models/gpt";
import { Module } from "../nn/module";
import { CausalSelfAttention, MultiHeadAttention } from "../nn/multi-head";
import { Rng } from "../random";
import { closeTensor, ExerciseTodo, report, sameValue, verdict, type Finding, type Verdict } from "./verdict";

// ——— 6.1 ———————————————————————————————————————————————————————————————————————————————————————————————————————

/** What exercise 6.1 asks for: a model built as new GPT(config, rng), idx (B, T) -> logits (B, T, vocabSize). */
export type GPTClass = new (config: GPTConfig, rng: Rng) => Module & { forward(idx: tf.Tensor2D): tf.Tensor3D };

/** Sizes that are all different, so that a swapped axis cannot pass: vocabulary 11, context 6, C 12, 3 heads, 2 blocks. */
const EX1_CONFIG: GPTConfig = { vocabSize: 11, blockSize: 6, nEmbd: 12, nHead: 3, nLayer: 2 };

/**
 * The library's GPT with one usual mistake, to name it when the learner's logits match it: its parts run by hand
 * (token and position embeddings, the blocks, ln_f, lm_head) with one of them left out.
 */
function mistakes(model: GPTLanguageModel, idx: tf.Tensor2D): { mistake: string; logits: tf.Tensor3D }[] {
  const T = idx.shape[1];
  const tok = model.tokenEmbeddingTable.forward(idx); // (B, T, C)
  const pos = model.positionEmbeddingTable.weight.slice([0, 0], [T, -1]); // (T, C)
  const through = (x: tf.Tensor3D, { blocks = true, lnF = true } = {}) => {
    let h = x;
    if (blocks) for (const block of model.blocks) h = block.forward(h);
    if (lnF) h = model.lnF!.forward(h);
    return model.lmHead.forward(h);
  };
  const x = tok.add(pos) as tf.Tensor3D;
  return [
    { mistake: "the position embeddings left out: add positionEmbeddingTable's rows 0..T-1 to the token embeddings", logits: through(tok) },
    { mistake: "the final LayerNorm (ln_f) left out: apply this.lnF between the blocks and lm_head", logits: through(x, { lnF: false }) },
    { mistake: "the blocks left out: run x through every block of this.blocks, one after the other", logits: through(x, { blocks: false }) },
  ];
}

/**
 * The learner's GPT against GPTLanguageModel with the learner's weights loaded by name (as lab.compareWithLibrary
 * does), in evaluation mode, on a batch as long as the context and on a shorter one; logits that match a model with a
 * part left out are named.
 */
export function checkGptForward(Learner: GPTClass): Verdict {
  return report(verdict("Exercise 6.1 — the GPT's forward pass", () => {
    const library = new GPTLanguageModel(EX1_CONFIG, new Rng(2));
    let mine: InstanceType<GPTClass> | undefined;
    try {
      mine = new Learner({ ...EX1_CONFIG }, new Rng(1));
      try {
        library.loadStateDict(mine.stateDict());
      } catch (err) {
        if (err instanceof ExerciseTodo) throw err;
        throw new Error(`your model's weights do not load into GPTLanguageModel by name; keep the names the constructor gives ` +
          `(token_embedding_table, position_embedding_table, blocks.N, ln_f, lm_head). ${(err as Error).message}`);
      }
      mine.eval();
      library.eval();
      const learner = mine;
      const { vocabSize: V, blockSize } = EX1_CONFIG;
      const findings: Finding[] = [];
      for (const T of [blockSize, 4]) {
        const what = `logits for idx of shape (2, ${T}), against GPTLanguageModel with your weights`;
        try {
          tf.tidy(() => { // also disposes whatever the learner's forward leaves behind
            const idx = tf.tensor2d(Array.from({ length: 2 * T }, (_, i) => (7 * i + 3) % V), [2, T], "int32");
            const out = learner.forward(idx);
            const finding = closeTensor(what, out, library.forward(idx), 1e-5);
            if (!finding.ok && out instanceof tf.Tensor && !out.isDisposed) {
              const named = mistakes(library, idx).find((m) => closeTensor("", out, m.logits, 1e-5).ok);
              if (named) finding.line += ` — they are the logits of a GPT with ${named.mistake}`;
            }
            findings.push(finding);
          });
        } catch (err) {
          if (err instanceof ExerciseTodo) throw err;
          const shorter = T < blockSize ? ` — a context shorter than blockSize (${blockSize}) takes only the position rows 0..${T - 1}` : "";
          findings.push({ ok: false, line: `${what}: your forward threw: ${(err as Error).message ?? String(err)}${shorter}` });
        }
      }
      return findings;
    } finally {
      library.dispose();
      mine?.dispose();
    }
  }));
}

// ——— 6.2 ———————————————————————————————————————————————————————————————————————————————————————————————————————

/** What exercise 6.2 asks for: a Module built as new BatchedAttention(nEmbd, nHead), x (B, T, C) -> (B, T, C). */
export type BatchedAttentionClass = new (nEmbd: number, nHead: number) => Module & { forward(x: tf.Tensor3D): tf.Tensor3D };

/** Sizes that are all different, so that a swapped axis cannot pass: B 2, T 5, C 12, 3 heads of 4. */
const EX2 = { B: 2, T: 5, C: 12, nHead: 3 };

/**
 * The learner's batched attention against MultiHeadAttention (one Head per head) and CausalSelfAttention (the
 * library's batched class), all three with the same weights: c_attn holds every head's query rows, then the keys, then
 * the values; c_proj is the projection.
 */
export function checkBatchedAttention(Learner: BatchedAttentionClass): Verdict {
  return report(verdict("Exercise 6.2 — all heads in one batched class", () => {
    const { B, T, C, nHead } = EX2;
    const perHead = new MultiHeadAttention(C, nHead, C / nHead).initWeights(new Rng(1));
    const library = new CausalSelfAttention(C, nHead).initWeights(new Rng(2));
    let mine: Module & { forward(x: tf.Tensor3D): tf.Tensor3D } | undefined;
    try {
      tf.tidy(() => {
        const stacked = (pick: "query" | "key" | "value") => perHead.heads.map((h) => h[pick].weight);
        library.cAttn.weight.assign(tf.concat([...stacked("query"), ...stacked("key"), ...stacked("value")], 0) as tf.Tensor2D);
        library.cProj.weight.assign(perHead.proj!.weight);
        library.cProj.bias!.assign(perHead.proj!.bias!);
      });
      mine = new Learner(C, nHead);
      try {
        mine.loadStateDict(library.stateDict());
      } catch (err) {
        if (err instanceof ExerciseTodo) throw err;
        throw new Error(`the weights c_attn.weight (${3 * C}, ${C}), c_proj.weight (${C}, ${C}) and c_proj.bias (${C}) do not load into your class; ` +
          `register its layers as this.module("c_attn", ...) and this.module("c_proj", ...). ${(err as Error).message}`);
      }
      mine.eval();
      const learner = mine;
      const findings: Finding[] = [];
      tf.tidy(() => { // also disposes whatever the learner's forward leaves behind
        const x = tf.randomNormal([B, T, C], 0, 1, "float32", 6) as tf.Tensor3D;
        const out = learner.forward(x);
        findings.push(
          closeTensor(`output for x of shape (${B}, ${T}, ${C}), ${nHead} heads, against CausalSelfAttention`, out, library.forward(x), 1e-5),
          closeTensor(`the same output against MultiHeadAttention (${nHead} Heads, the same weights)`, out, perHead.forward(x), 1e-5),
        );
      });
      return findings;
    } finally {
      perHead.dispose();
      library.dispose();
      mine?.dispose();
    }
  }));
}

// ——— 6.3 ———————————————————————————————————————————————————————————————————————————————————————————————————————

/** The configurations 6.3 is checked on: gpt.py's, the lecture notebook's final model's, and a small odd one. */
export const PARAMETER_COUNT_CONFIGS: { name: string; config: GPTConfig }[] = [
  { name: "gpt.py", config: gptConfigOf(configNamed("gpt-py"), 65) },
  { name: "the notebook's final model", config: gptConfigOf(configNamed("notebook-final"), 65) },
  { name: "vocab 10, block 5, C 12, 3 heads, 2 layers", config: { vocabSize: 10, blockSize: 5, nEmbd: 12, nHead: 3, nLayer: 2 } },
];

/** The model's parameters grouped by name with the block number left out: "blocks.*.ln1.weight" -> its size summed over blocks. */
function parameterGroups(model: GPTLanguageModel): Map<string, number> {
  const groups = new Map<string, number>();
  for (const [name, v] of model.namedParameters()) {
    const key = name.replace(/^blocks\.\d+\./, "blocks.*.").replace(/heads\.\d+\./, "heads.*.");
    groups.set(key, (groups.get(key) ?? 0) + v.size);
  }
  return groups;
}

/** When a count is off by exactly one kind of parameter, which one. */
function diagnose(off: number, groups: Map<string, number>): string {
  const match = [...groups].find(([, n]) => n === Math.abs(off));
  if (!match) return "";
  return ` — exactly the size of ${match[0]} (${match[1]} numbers): ${off < 0 ? "left out?" : "counted twice?"}`;
}

/** The learner's count(config) against the number of parameters of a GPTLanguageModel built with that config. */
export function checkParameterCount(count: (config: GPTConfig) => number): Verdict {
  return report(verdict("Exercise 6.3 — the parameters of a GPT", () =>
    PARAMETER_COUNT_CONFIGS.map(({ name, config }) => {
      const model = new GPTLanguageModel(config, new Rng(0));
      try {
        const expected = model.numParameters();
        const got = count({ ...config });
        const finding = sameValue(name, got, expected);
        if (finding.ok || typeof got !== "number") return finding;
        return { ok: false, line: `${finding.line} (off by ${got - expected})${diagnose(got - expected, parameterGroups(model))}` };
      } finally {
        model.dispose();
      }
    })));
}

