#!/usr/bin/env node
/**
 * npm run sample -- --out DIR [--start TEXT|FILE:path] [--num-samples N] [--max-new-tokens N] [--temperature T]
 *                   [--top-k K] [--seed S]
 * Loads a model directory (npm run train -- --out DIR, saveModelDir in lesson 7, or one written from PyTorch) and
 * streams samples to stdout, character by character, as nanoGPT's sample.py prints them.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { CharTokenizer } from "../data/tokenizer";
import { initBackend } from "../engine/backend";
import { loadModelDir } from "../io/model-dir";
import { streamTokens } from "../models/generate";
import { Rng } from "../random";
import { helpText, parseCommand, runMain, UsageError, type CommandSpec } from "./args";

export const SAMPLE_COMMAND = {
  name: "sample",
  summary: "Streams text sampled from a trained model directory to stdout.",
  options: {
    out: { type: "path", arg: "DIR", help: "the model directory (npm run train -- --out DIR, or saveModelDir in lesson 7)" },
    start: { type: "string", arg: "TEXT", help: "the prompt, or FILE:path to read it from a file (default: a newline)" },
    "num-samples": { type: "positive", help: "how many samples (default 1)" },
    "max-new-tokens": { type: "positive", help: "characters per sample (default 500)" },
    temperature: { type: "number", arg: "T", help: "1 samples the model's distribution, lower is sharper (default 1)" },
    "top-k": { type: "positive", arg: "K", help: "sample from the K most likely characters only (default: all)" },
    seed: { type: "count", arg: "S", help: "the random seed (default 1337)" },
  },
} as const satisfies CommandSpec;

/** The prompt's token ids; characters the vocabulary lacks are an error that names every one of them. */
export function encodePrompt(tokenizer: CharTokenizer, prompt: string): number[] {
  const known = new Set(tokenizer.chars);
  const missing = [...new Set(Array.from(prompt))].filter((c) => !known.has(c));
  if (missing.length) {
    const shown = missing.map((c) => `${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")})`).join(", ");
    throw new UsageError(`The prompt has ${missing.length} character${missing.length > 1 ? "s" : ""} outside the model's vocabulary of ${tokenizer.vocabSize}: ${shown}. Remove ${missing.length > 1 ? "them" : "it"} from --start, or train on a text that has ${missing.length > 1 ? "them" : "it"}.`);
  }
  return tokenizer.encode(prompt);
}

function promptOf(start: string | undefined, tokenizer: CharTokenizer): string {
  if (start === undefined) return tokenizer.chars.includes("\n") ? "\n" : tokenizer.chars[0];
  if (!start.startsWith("FILE:")) return start;
  const file = start.slice(5);
  if (file.trim() === "") throw new UsageError("--start FILE: needs a path after FILE:, got an empty one (is a shell variable unset?).");
  if (!existsSync(file)) throw new UsageError(`--start FILE:${file}: no such file.`);
  if (!statSync(file).isFile()) throw new UsageError(`--start FILE:${file} is not a regular file (a folder, a device or a pipe): give a text file.`);
  return readFileSync(file, "utf8");
}

/** Runs the sample command on `argv`, writing the text to `write` (default stdout). */
export async function runSample(argv: string[], write: (text: string) => void = (t) => void process.stdout.write(t)): Promise<void> {
  const args = parseCommand(argv, SAMPLE_COMMAND);
  if (args.help) return write(helpText(SAMPLE_COMMAND) + "\n");
  const { out } = args.values;
  if (out === undefined) throw new UsageError("Give the model directory to sample from: npm run sample -- --out DIR (train one with npm run train -- --config NAME --out DIR).");
  await initBackend();
  const { model, tokenizer } = loadModelDir(out, { optimizer: false }); // sampling needs the weights only
  try {
    const { start, seed = 1337, "num-samples": samples = 1, "max-new-tokens": maxNewTokens = 500, temperature = 1, "top-k": topK } = args.values;
    const context = encodePrompt(tokenizer, promptOf(start, tokenizer));
    const options = { rng: new Rng(seed), temperature, topK };
    for (let i = 0; i < samples; i++) {
      if (i > 0) write("\n---------------\n");
      write(tokenizer.decode(context));
      for await (const token of streamTokens(model, context, maxNewTokens, options)) write(tokenizer.decode([token]));
      write("\n");
    }
  } finally {
    model.dispose();
  }
}

if (require.main === module) runMain(() => runSample(process.argv.slice(2)));
