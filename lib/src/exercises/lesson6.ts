/**
 * Lesson 6's exercises: 6.1 all heads in one batched class (the lecture's EX1), 6.2 the parameter count of a GPT from
 * its configuration, 6.3 a GPT trained on your own text (the lecture's EX2). Each check compares the learner's answer
 * with the library's own classes.
 */
import * as tf from "@tensorflow/tfjs";
import { CharTokenizer } from "../data/tokenizer";
import { gptConfigOf, named as configNamed } from "../configs";
import { GPTLanguageModel, type GPTConfig } from "../models/gpt";
import { Module } from "../nn/module";
import { CausalSelfAttention, MultiHeadAttention } from "../nn/multi-head";
import { Rng } from "../random";
import { estimateLoss } from "../train/trainer";
import { closeTensor, ExerciseTodo, report, sameValue, verdict, verdictAsync, type Finding, type Verdict } from "./verdict";

// ——— 6.1 ———————————————————————————————————————————————————————————————————————————————————————————————————————

/** What exercise 6.1 asks for: a Module built as new BatchedAttention(nEmbd, nHead), x (B, T, C) -> (B, T, C). */
export type BatchedAttentionClass = new (nEmbd: number, nHead: number) => Module & { forward(x: tf.Tensor3D): tf.Tensor3D };

/** Sizes that are all different, so that a swapped axis cannot pass: B 2, T 5, C 12, 3 heads of 4. */
const EX1 = { B: 2, T: 5, C: 12, nHead: 3 };

/**
 * The learner's batched attention against MultiHeadAttention (one Head per head) and CausalSelfAttention (the
 * library's batched class), all three with the same weights: c_attn holds every head's query rows, then the keys, then
 * the values; c_proj is the projection.
 */
export function batchedAttentionVerdict(Learner: BatchedAttentionClass): Verdict {
  return verdict("Exercise 6.1 — all heads in one batched class", () => {
    const { B, T, C, nHead } = EX1;
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
  });
}

export function checkBatchedAttention(Learner: BatchedAttentionClass): void {
  report(batchedAttentionVerdict(Learner));
}

// ——— 6.2 ———————————————————————————————————————————————————————————————————————————————————————————————————————

/** The configurations 6.2 is checked on: gpt.py's, the lecture notebook's final model's, and a small odd one. */
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
export function parameterCountVerdict(count: (config: GPTConfig) => number): Verdict {
  return verdict("Exercise 6.2 — the parameters of a GPT", () =>
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
    }));
}

export function checkParameterCount(count: (config: GPTConfig) => number): void {
  report(parameterCountVerdict(count));
}

// ——— 6.3 ———————————————————————————————————————————————————————————————————————————————————————————————————————

/** What exercise 6.3's function resolves to: the text, its tokenizer, the GPT trained on it and a sample from it. */
export interface OwnTextRun {
  text: string;
  tokenizer: CharTokenizer;
  model: GPTLanguageModel;
  sample: string;
}

/** The least text worth training on: a few thousand characters. */
export const OWN_TEXT_MIN_CHARS = 2000;

/** The mean loss of `model` on random blocks of `ids` (the same blocks for every model given the same seed). */
async function lossOn(model: GPTLanguageModel, ids: Int32Array, seed: number): Promise<number> {
  const blockSize = Math.min(model.blockSize, ids.length - 1);
  const { val } = await estimateLoss(model, { train: ids, val: ids }, 8, { batchSize: 8, blockSize }, new Rng(seed));
  return val;
}

/**
 * The learner's own-text run: a text long enough to learn from, a tokenizer built from it (every character, sorted,
 * and back again), a GPT of that vocabulary that has learned something (its loss on the text clearly below the same
 * model untrained), and a sample written in the text's characters. The run's model is disposed when the check is done.
 */
export function ownTextVerdict(run: () => Promise<OwnTextRun>): Promise<Verdict> {
  return verdictAsync("Exercise 6.3 — a GPT on your own text", async () => {
    const result = await run();
    try {
      return await judgeOwnText(result);
    } finally {
      if (result?.model instanceof Module) result.model.dispose(); // the learner's cell keeps no handle on it
    }
  });
}

async function judgeOwnText({ text, tokenizer, model, sample }: OwnTextRun): Promise<Finding[]> {
  const findings: Finding[] = [];
  const length = typeof text === "string" ? Array.from(text).length : NaN;
  findings.push(length >= OWN_TEXT_MIN_CHARS
    ? { ok: true, line: `your text: ${length} characters — right` }
    : { ok: false, line: `your text: ${typeof text === "string" ? `${length} characters` : `not a string (${typeof text})`}, expected at least ${OWN_TEXT_MIN_CHARS}` });
  if (typeof text !== "string" || !(tokenizer instanceof CharTokenizer)) {
    if (!(tokenizer instanceof CharTokenizer)) findings.push({ ok: false, line: "tokenizer: expected a CharTokenizer (CharTokenizer.fromText(text))" });
    return findings;
  }
  findings.push(sameValue("the tokenizer's vocabulary", tokenizer.chars.join(""), CharTokenizer.fromText(text).chars.join("")));
  const roundTrip = (() => { try { return tokenizer.decode(tokenizer.encode(text)) === text; } catch { return false; } })();
  findings.push(sameValue("decode(encode(text)) gives the text back", roundTrip, true));
  if (!(model instanceof GPTLanguageModel)) {
    findings.push({ ok: false, line: "model: expected a GPTLanguageModel" });
    return findings;
  }
  findings.push(sameValue("the model's vocabSize, against the tokenizer's", model.vocabSize, tokenizer.vocabSize));
  if (findings.some((f) => !f.ok)) return findings;
  const ids = Int32Array.from(tokenizer.encode(text));
  const untrained = new GPTLanguageModel(model.config, new Rng(0));
  try {
    const before = await lossOn(untrained, ids, 1);
    const after = await lossOn(model, ids, 1);
    const learned = after <= before - 0.1;
    findings.push({
      ok: learned,
      line: `loss on your text: ${after.toFixed(3)}; the same model untrained: ${before.toFixed(3)}; a uniform guess: ${Math.log(tokenizer.vocabSize).toFixed(3)}` +
        (learned ? " — right, it has learned" : " — expected at least 0.1 below the untrained model's"),
    });
  } finally {
    untrained.dispose();
  }
  const outside = typeof sample === "string" ? Array.from(sample).filter((c) => !tokenizer.chars.includes(c)) : [];
  findings.push(typeof sample === "string" && sample.length > 0 && outside.length === 0
    ? { ok: true, line: `sample: ${Array.from(sample).length} characters, all from your text's vocabulary — right` }
    : { ok: false, line: typeof sample !== "string" || sample.length === 0 ? "sample: expected a non-empty string (tokenizer.decode(await generate(...)))" : `sample: has characters outside the vocabulary: ${JSON.stringify(outside.slice(0, 5).join(""))}` });
  return findings;
}

export async function checkOwnText(run: () => Promise<OwnTextRun>): Promise<void> {
  report(await ownTextVerdict(run));
}
