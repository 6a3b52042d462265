/** Sampling text from a language model, one token at a time, as the lecture's generate() does. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { nextTurn } from "../train/interrupt";
import type { LanguageModel } from "./language-model";

export interface GenerateOptions {
  /** The random source for sampling; default: a new Rng(1337). */
  rng?: Rng;
  /** Divides the logits before softmax: < 1 sharper, > 1 flatter; towards 0, greedy decoding. A finite number > 0. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens before sampling: an integer in [1, vocabSize]. Default: all. */
  topK?: number;
  /** Called with each new token as it is sampled (for streaming output). */
  onToken?: (token: number) => void;
}

/** temperature and topK in their ranges, or an error that gives the range. */
function checkSampling(model: LanguageModel, temperature: number, topK: number | undefined): void {
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new Error(`temperature must be a finite number > 0, got ${temperature}: 1 samples the model's own distribution, smaller is sharper (towards greedy), larger flatter.`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1 && topK <= model.vocabSize)) {
    throw new Error(`topK must be an integer in [1, ${model.vocabSize}] (the vocabulary size), got ${topK}; leave it out to keep every token.`);
  }
}

/** A context to extend: a non-empty list of token ids in the vocabulary; maxNewTokens a non-negative integer. */
function checkRequest(model: LanguageModel, context: readonly number[], maxNewTokens: number): void {
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) {
    throw new Error(`maxNewTokens must be a non-negative integer (how many tokens to add), got ${maxNewTokens}.`);
  }
  if (context.length === 0) throw new Error("generate needs at least one context token (the lecture starts from token 0, a newline).");
  const i = context.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < model.vocabSize));
  if (i >= 0) {
    throw new Error(`context token ${context[i]} at position ${i} is outside the vocabulary (ids 0..${model.vocabSize - 1}): encode the prompt with the model's tokenizer.`);
  }
}

/**
 * The distribution generate() samples the next token from after `context` (cropped to the model's block size):
 * softmax of the last position's logits divided by `temperature`, keeping only the `topK` most likely. (vocabSize)
 * The logits have their maximum subtracted before the division, so a tiny temperature gives the greedy choice
 * (probability 1 on the most likely token) rather than NaN. Read asynchronously.
 */
export async function nextTokenProbs(model: LanguageModel, context: number[], temperature = 1, topK?: number): Promise<Float32Array> {
  checkSampling(model, temperature, topK);
  if (context.length === 0) throw new Error("nextTokenProbs needs at least one context token.");
  const probs = tf.tidy(() => {
    const cond = model.blockSize ? context.slice(-model.blockSize) : context; // crop to the last blockSize tokens
    const logits = model.forward(tf.tensor2d([cond], [1, cond.length], "int32")); // (1, T, V)
    const last = logits.slice([0, cond.length - 1, 0], [1, 1, model.vocabSize]).reshape([model.vocabSize]); // (V)
    let scaled = last.sub(last.max()).div(temperature); // (V), <= 0, the most likely token at 0
    if (topK !== undefined && topK < model.vocabSize) {
      const kth = tf.topk(scaled, topK).values.min();
      scaled = tf.where(scaled.less(kth), tf.fill(scaled.shape, -Infinity), scaled);
    }
    return tf.softmax(scaled);
  });
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

/** Samples one token after `tokens` with the model in evaluation mode (no dropout), its mode restored after. */
async function sampleNext(model: LanguageModel, tokens: number[], rng: Rng, temperature: number, topK: number | undefined): Promise<number> {
  return model.inEvalMode(async () => rng.sample(await nextTokenProbs(model, tokens, temperature, topK)));
}

/** The sampled tokens one by one: the loop generate() and streamTokens() share. Checks its arguments first. */
async function* sampled(model: LanguageModel, context: number[], maxNewTokens: number, options: Omit<GenerateOptions, "onToken">): AsyncGenerator<number> {
  const { rng = new Rng(), temperature = 1, topK } = options;
  checkRequest(model, context, maxNewTokens);
  checkSampling(model, temperature, topK);
  const tokens = [...context];
  for (let i = 0; i < maxNewTokens; i++) {
    const next = await sampleNext(model, tokens, rng, temperature, topK);
    tokens.push(next);
    yield next;
  }
}

/**
 * Extends `context` (a non-empty list of tokens) by `maxNewTokens` sampled tokens; resolves to context + new tokens.
 * The model runs in evaluation mode (no dropout) and is put back in the mode it was in.
 */
export async function generate(model: LanguageModel, context: number[], maxNewTokens: number, options: GenerateOptions = {}): Promise<number[]> {
  const tokens = [...context];
  for await (const next of sampled(model, context, maxNewTokens, options)) {
    tokens.push(next);
    options.onToken?.(next);
  }
  return tokens;
}

/**
 * generate(), one token at a time as an async iterator, giving the event loop a turn after each token so that a
 * notebook can show the text as it is written:  for await (const t of streamTokens(model, [0], 500)) print(t)
 */
export async function* streamTokens(model: LanguageModel, context: number[], maxNewTokens: number, options: Omit<GenerateOptions, "onToken"> = {}): AsyncGenerator<number> {
  for await (const next of sampled(model, context, maxNewTokens, options)) {
    yield next;
    await nextTurn();
  }
}
