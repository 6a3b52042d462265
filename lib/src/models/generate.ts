/** Sampling text from a language model, one token at a time, as the lecture's generate() does. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import type { LanguageModel } from "./language-model";

export interface GenerateOptions {
  /** The random source for sampling; default: a new Rng(1337). */
  rng?: Rng;
  /** Divides the logits before softmax: < 1 sharper, > 1 flatter. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens before sampling. Default: all. */
  topK?: number;
  /** Called with each new token as it is sampled (for streaming output). */
  onToken?: (token: number) => void;
}

/**
 * The distribution generate() samples the next token from after `context` (cropped to the model's block size):
 * softmax of the last position's logits divided by `temperature`, keeping only the `topK` most likely. (vocabSize)
 */
export function nextTokenProbs(model: LanguageModel, context: number[], temperature = 1, topK?: number): Float32Array {
  return tf.tidy(() => {
    const cond = model.blockSize ? context.slice(-model.blockSize) : context; // crop to the last blockSize tokens
    const logits = model.forward(tf.tensor2d([cond], [1, cond.length], "int32")); // (1, T, V)
    let last = logits.slice([0, cond.length - 1, 0], [1, 1, model.vocabSize]).reshape([model.vocabSize]).div(temperature); // (V)
    if (topK !== undefined && topK < model.vocabSize) {
      const kth = tf.topk(last, topK).values.min();
      last = tf.where(last.less(kth), tf.fill(last.shape, -Infinity), last);
    }
    return tf.softmax(last).dataSync() as Float32Array;
  });
}

/**
 * Extends `context` (a non-empty list of tokens) by `maxNewTokens` sampled tokens; returns context + new tokens.
 * The model runs in evaluation mode (no dropout) and is put back in the mode it was in.
 */
export function generate(model: LanguageModel, context: number[], maxNewTokens: number, options: GenerateOptions = {}): number[] {
  const { rng = new Rng(), temperature = 1, topK, onToken } = options;
  if (context.length === 0) throw new Error("generate needs at least one context token (the lecture starts from token 0, a newline).");
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}.`);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw new Error(`topK must be a positive integer, got ${topK}.`);
  const wasTraining = model.training;
  model.eval();
  const tokens = [...context];
  try {
    for (let i = 0; i < maxNewTokens; i++) {
      const next = rng.sample(nextTokenProbs(model, tokens, temperature, topK));
      tokens.push(next);
      onToken?.(next);
    }
  } finally {
    model.train(wasTraining);
  }
  return tokens;
}

/**
 * generate(), one token at a time as an async iterator, giving the event loop a turn after each token so that a
 * notebook can show the text as it is written:  for await (const t of streamTokens(model, [0], 500)) print(t)
 */
export async function* streamTokens(model: LanguageModel, context: number[], maxNewTokens: number, options: Omit<GenerateOptions, "onToken"> = {}): AsyncGenerator<number> {
  const rng = options.rng ?? new Rng();
  const tokens = [...context];
  for (let i = 0; i < maxNewTokens; i++) {
    const [next] = generate(model, tokens, 1, { ...options, rng }).slice(-1);
    tokens.push(next);
    yield next;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
