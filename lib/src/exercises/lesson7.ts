/**
 * Lesson 7's exercise: 7.1 a GPT trained on your own text (the lecture's EX2). The check measures what the learner's
 * model has learned against the same model untrained, reports the verdict under the cell and returns it.
 */
import { CharTokenizer } from "../data/tokenizer";
import { GPTLanguageModel } from "../models/gpt";
import { Module } from "../nn/module";
import { Rng } from "../random";
import { estimateLoss } from "../train/trainer";
import { report, sameValue, verdictAsync, type Finding, type Verdict } from "./verdict";

/** What exercise 7.1's function resolves to: the text, its tokenizer, the GPT trained on it and a sample from it. */
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
export async function checkOwnText(run: () => Promise<OwnTextRun>): Promise<Verdict> {
  return report(await verdictAsync("Exercise 7.1 — a GPT on your own text", async () => {
    const result = await run();
    try {
      return await judgeOwnText(result);
    } finally {
      if (result?.model instanceof Module) result.model.dispose(); // the learner's cell keeps no handle on it
    }
  }));
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
