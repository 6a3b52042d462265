/**
 * Every configuration of the course, in one registry and one type: the lecture's ladder, the notebook's CPU model,
 * gpt.py's model, nanoGPT's shakespeare-char sizes and its CPU run, and the CPU speedrun. `npm run train`, the ladder,
 * the benchmark, the tests and the lessons read them from here (`configs.named("gpt-py")`), so no model's settings are
 * written twice. Each number's source is named in the entry.
 */
import type { Workload } from "./engine/backend";
import { BigramLanguageModel } from "./models/bigram";
import { GPTLanguageModel, MultiHeadLanguageModel, type GPTConfig } from "./models/gpt";
import type { LanguageModel } from "./models/language-model";
import { SingleHeadLanguageModel } from "./models/single-head";
import type { Rng } from "./random";
import type { TrainOptions } from "./train/trainer";

/** The model classes a configuration can build. */
export type ModelKind = "bigram" | "single-head" | "multi-head" | "gpt";

/** A configuration: the model's sizes and switches and how it is trained (every one a setting `npm run train` can override), and where it comes from. */
export interface Config {
  /** The name to ask for it by (`--config NAME`, `configs.named(NAME)`). */
  name: string;
  title: string;
  /** Where the numbers come from. */
  source: string;
  /** The validation loss its source reported, where it did. */
  reportedVal?: number;

  /** The model class. */
  model: ModelKind;
  /** The longest context, T. */
  blockSize: number;
  /** Embedding width, C (unused by the bigram model). */
  nEmbd: number;
  nHead: number;
  nLayer: number;
  dropout: number;
  /** multi-head only: the feed-forward layer after attention. */
  feedForward: boolean;
  /** gpt only: pre-norm LayerNorms and a final one. */
  layerNorm: boolean;
  /** gpt only: "heads" (gpt.py's Head modules) or "batched" (nanoGPT's CausalSelfAttention). */
  attention: "heads" | "batched";
  /** gpt only: "gpt" (N(0, 0.02), gpt.py) or "pytorch" (PyTorch's default initialisation, the lecture's notebook). */
  init: "gpt" | "pytorch";

  batchSize: number;
  /** Each batch in this many parts, their gradients summed (the same step in less memory). */
  microBatches: number;
  /** The peak learning rate. */
  learningRate: number;
  /** Steps of linear warm-up from 0 to learningRate (nanoGPT: 100); 0 for none. */
  warmupIters: number;
  /** "constant", or "cosine": from learningRate down to minLr over the run (its steps, or its time budget). */
  lrSchedule: "constant" | "cosine";
  /** Where the cosine ends (nanoGPT: learningRate / 10). */
  minLr: number;
  /** AdamW's decoupled weight decay (PyTorch's default 0.01, as gpt.py uses). */
  weightDecay: number;
  /** Which parameters decay: "all" (torch.optim.AdamW over model.parameters(), gpt.py) or "matrices" (nanoGPT: not biases, not LayerNorm). */
  decayOn: "all" | "matrices";
  beta1: number;
  beta2: number;
  /** Clip the gradient's global norm to this (nanoGPT: 1.0); 0 for no clipping. */
  gradClip: number;
  /** Training steps (with maxMinutes, the most it may take). */
  maxIters: number;
  /** A time budget in minutes (0: none): training stops when it is spent, and a cosine schedule ends with it. */
  maxMinutes: number;
  evalInterval: number;
  /** Random batches a split at each evaluation (the lecture's estimate_loss). */
  evalIters: number;
  /** Measure val on the whole val text instead of evalIters random batches (deterministic: no sampling noise). */
  wholeVal: boolean;
}

/** What a configuration sets, apart from its name and provenance: what `npm run train -- --key value` overrides. */
export type Settings = Omit<Config, "name" | "title" | "source" | "reportedVal">;

/** The defaults every configuration starts from (PyTorch's AdamW, the lecture's training budget for the small models). */
const BASE: Settings = {
  model: "gpt", blockSize: 8, nEmbd: 32, nHead: 4, nLayer: 3, dropout: 0, feedForward: false, layerNorm: true,
  attention: "heads", init: "pytorch", batchSize: 32, microBatches: 1, learningRate: 1e-3, warmupIters: 0,
  lrSchedule: "constant", minLr: 0, weightDecay: 0.01, decayOn: "all", beta1: 0.9, beta2: 0.999, gradClip: 0,
  maxIters: 5000, maxMinutes: 0, evalInterval: 500, evalIters: 200, wholeVal: false,
};

type Entry = Partial<Settings> & Pick<Config, "name" | "title" | "source" | "reportedVal">;

const ENTRIES: Entry[] = [
  { name: "bigram", title: "bigram", source: "the lecture's bigram.py", reportedVal: 2.49,
    model: "bigram", learningRate: 1e-2, maxIters: 3000, evalInterval: 300 },
  { name: "one-head", title: "+ one self-attention head (32)", source: "the lecture, one head of 32", reportedVal: 2.4,
    model: "single-head" },
  { name: "multi-head", title: "multi-head attention (4 × 8)", source: "the lecture, 4 heads of 8", reportedVal: 2.28,
    model: "multi-head" },
  { name: "feed-forward", title: "+ feed-forward", source: "the lecture, multi-head + feed-forward", reportedVal: 2.24,
    model: "multi-head", feedForward: true },
  { name: "residual", title: "+ residual, projections, 4x MLP, 3 blocks", source: "the lecture, residual blocks", reportedVal: 2.08,
    layerNorm: false },
  { name: "layer-norm", title: "+ LayerNorm (pre-norm, final)", source: "the lecture, pre-norm LayerNorm", reportedVal: 2.06 },
  // The lecture notebook evaluates every 100 steps; every 500 gives the same final estimate in a fifth of the time.
  { name: "notebook-final", title: "notebook's final model (64, 4 heads, 4 layers, block 32)", source: "the lecture notebook gpt-dev.ipynb",
    reportedVal: 1.8226, blockSize: 32, nEmbd: 64, nHead: 4, nLayer: 4, attention: "batched", batchSize: 16 },
  { name: "gpt-py", title: "gpt.py (384, 6 heads, 6 layers, block 256, dropout 0.2)", source: "the lecture's gpt.py", reportedVal: 1.48,
    blockSize: 256, nEmbd: 384, nHead: 6, nLayer: 6, dropout: 0.2, init: "gpt", batchSize: 64, learningRate: 3e-4 },
  // nanoGPT's config/train_shakespeare_char.py: its sizes, optimizer, schedule and clipping, on gpt.py's model.
  { name: "shakespeare-char", title: "nanoGPT shakespeare-char (384, 6, 6, block 256, cosine lr)", source: "nanoGPT config/train_shakespeare_char.py",
    reportedVal: 1.4697, blockSize: 256, nEmbd: 384, nHead: 6, nLayer: 6, dropout: 0.2, attention: "batched", init: "gpt",
    batchSize: 64, learningRate: 1e-3, warmupIters: 100, lrSchedule: "cosine", minLr: 1e-4, weightDecay: 0.1, decayOn: "matrices",
    beta2: 0.99, gradClip: 1, evalInterval: 250 },
  // nanoGPT's README, "I only have a macbook": the CPU-sized shakespeare-char run, with nanoGPT's training defaults.
  { name: "nanogpt-cpu", title: "nanoGPT's CPU run (128, 4 heads, 4 layers, block 64)", source: "nanoGPT README, CPU settings",
    reportedVal: 1.88, blockSize: 64, nEmbd: 128, nHead: 4, nLayer: 4, attention: "batched", init: "gpt", batchSize: 12,
    learningRate: 1e-3, warmupIters: 100, lrSchedule: "cosine", minLr: 1e-4, weightDecay: 0.1, decayOn: "matrices", beta2: 0.99,
    gradClip: 1, maxIters: 2000, evalInterval: 250, evalIters: 20 },
  // The CPU speedrun: the settings the sweep chose for 15 minutes of training on two CPU cores (docs/speedrun.md: the
  // sweeps, and the comparison with nanoGPT's recipe).
  { name: "cpu-speedrun", title: "CPU speedrun (128, 4 heads, 6 layers, block 128, batch 8, lr 2e-3, weight decay 0.2, 15 minutes)", source: "npm run sweep (docs/speedrun.md)",
    blockSize: 128, nEmbd: 128, nHead: 4, nLayer: 6, attention: "batched", init: "gpt", batchSize: 8,
    learningRate: 2e-3, warmupIters: 100, lrSchedule: "cosine", minLr: 2e-4, weightDecay: 0.2, decayOn: "matrices", beta2: 0.99,
    gradClip: 1, maxIters: 1_000_000, maxMinutes: 15, evalInterval: 2000, evalIters: 100, wholeVal: true },
];

/** Every configuration, in the order of the course. */
export const all: readonly Config[] = ENTRIES.map((e) => Object.freeze({ ...BASE, ...e }));

/** The configuration called `name`, or an error that lists them. */
export function named(name: string): Config {
  const found = all.find((c) => c.name === name);
  if (!found) throw new Error(`Unknown configuration ${JSON.stringify(name)}. The configurations: ${all.map((c) => c.name).join(", ")}.`);
  return found;
}

/** The lecture's loss ladder: each step of the lecture, bigram to the notebook's final model, as it trained them. */
export const ladder: readonly Config[] = ["bigram", "one-head", "multi-head", "feed-forward", "residual", "layer-norm", "notebook-final"].map(named);

/** The settings a configuration has, each overridable. */
export const KEYS = Object.keys(BASE) as (keyof Settings)[];

/** The settings that change the model itself (the rest change how it is trained). */
export const MODEL_KEYS: readonly (keyof Settings)[] = ["model", "blockSize", "nEmbd", "nHead", "nLayer", "dropout", "feedForward", "layerNorm", "attention", "init"];

/** Keys whose value must be a positive integer. */
const INTEGER_KEYS: (keyof Settings)[] = ["blockSize", "nEmbd", "nHead", "nLayer", "batchSize", "microBatches", "maxIters", "evalInterval", "evalIters"];
/** Keys whose value must be a whole number, 0 allowed. */
const COUNT_KEYS: (keyof Settings)[] = ["warmupIters"];
/** Keys whose value must be a number >= 0. */
const NON_NEGATIVE_KEYS: (keyof Settings)[] = ["dropout", "learningRate", "minLr", "weightDecay", "gradClip", "maxMinutes", "beta1", "beta2"];
/** The allowed values of the keys that take one of a few words. */
const CHOICES: Partial<Record<keyof Settings, readonly string[]>> = {
  model: ["bigram", "single-head", "multi-head", "gpt"],
  attention: ["heads", "batched"],
  init: ["gpt", "pytorch"],
  lrSchedule: ["constant", "cosine"],
  decayOn: ["all", "matrices"],
};

/** What `key` takes, for --help and error messages. */
export function describeKey(key: keyof Settings): string {
  if (CHOICES[key]) return CHOICES[key]!.join("|");
  if (INTEGER_KEYS.includes(key)) return "integer";
  if (COUNT_KEYS.includes(key)) return "integer >= 0";
  return typeof BASE[key] === "boolean" ? "true|false" : NON_NEGATIVE_KEYS.includes(key) ? "number >= 0" : "number";
}

/**
 * `value` (text from the command line) as the type of `key`, or an error that says what the key takes.
 * An unknown key is an error that lists the known ones.
 */
export function parseSetting<K extends keyof Settings>(key: K, value: string): Settings[K] {
  if (!KEYS.includes(key)) throw new Error(`Unknown setting ${JSON.stringify(key)}. The settings: ${KEYS.join(", ")}.`);
  const bad = (what: string) => new Error(`${key} must be ${what}, got ${JSON.stringify(value)}.`);
  const choices = CHOICES[key];
  if (choices) {
    if (!choices.includes(value)) throw bad(`one of ${choices.join(", ")}`);
    return value as Settings[K];
  }
  if (typeof BASE[key] === "boolean") {
    if (value !== "true" && value !== "false") throw bad("true or false");
    return (value === "true") as Settings[K];
  }
  const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim()) ? Number(value) : NaN;
  if (INTEGER_KEYS.includes(key) && !(Number.isInteger(n) && n >= 1)) throw bad("a positive integer");
  if (COUNT_KEYS.includes(key) && !(Number.isInteger(n) && n >= 0)) throw bad("a whole number (0 or more)");
  if (NON_NEGATIVE_KEYS.includes(key) && !(Number.isFinite(n) && n >= 0)) throw bad("a number >= 0");
  if (!Number.isFinite(n)) throw bad("a number");
  return n as Settings[K];
}

/** A configuration with some settings changed (already typed); unknown keys are an error that lists the known ones. */
export function withOverrides(config: Config, overrides: Partial<Settings>): Config {
  const unknown = Object.keys(overrides).filter((k) => !KEYS.includes(k as keyof Settings));
  if (unknown.length) throw new Error(`Unknown setting ${unknown.map((k) => JSON.stringify(k)).join(", ")}. The settings: ${KEYS.join(", ")}.`);
  return { ...config, ...overrides };
}

/**
 * A configuration saved earlier, with any setting it lacks (one added to the registry since) taken from the registry's
 * entry of its name, or from the defaults.
 */
export function completed(saved: Partial<Config> & Pick<Config, "name">): Config {
  const entry = all.find((c) => c.name === saved.name);
  return { ...BASE, title: saved.name, source: "a saved run", ...entry, ...saved };
}

/** How a configuration trains, as train()'s options (add the rng, progress and callbacks). */
export function trainingOf(c: Settings): Pick<TrainOptions, "batchSize" | "blockSize" | "maxIters" | "evalInterval" | "evalIters" | "wholeVal" | "microBatches" | "gradClip" | "maxMinutes" | "schedule"> {
  return {
    batchSize: c.batchSize, blockSize: c.blockSize, maxIters: c.maxIters, evalInterval: c.evalInterval, evalIters: c.evalIters, wholeVal: c.wholeVal,
    microBatches: c.microBatches, gradClip: c.gradClip, maxMinutes: c.maxMinutes > 0 ? c.maxMinutes : undefined,
    schedule: { lr: c.learningRate, warmupIters: c.warmupIters, decay: c.lrSchedule, minLr: c.minLr },
  };
}

/** The GPTConfig of a "gpt" configuration for a vocabulary of `vocabSize` characters. */
export function gptConfigOf(c: Settings, vocabSize: number): GPTConfig {
  if (c.model !== "gpt") throw new Error(`This configuration builds a ${c.model} model, not a GPTLanguageModel.`);
  const { blockSize, nEmbd, nHead, nLayer, dropout, layerNorm, attention, init } = c;
  return { vocabSize, blockSize, nEmbd, nHead, nLayer, dropout, layerNorm, attention, init };
}

/**
 * Which engine workload a configuration is (see initBackend): "scaled" for a GPT of gpt.py's width or wider, where a
 * GPU wins; "lessons" for the small models, which per-kernel overhead dominates and the CPU kernels run faster.
 */
export function workloadOf(c: Settings): Workload {
  return c.model === "gpt" && c.nEmbd >= 384 ? "scaled" : "lessons";
}

/** Builds the model a configuration describes, its weights drawn from `rng`. */
export function build(c: Settings, vocabSize: number, rng: Rng): LanguageModel {
  const { blockSize, nEmbd, nHead, feedForward } = c;
  switch (c.model) {
    case "bigram": return new BigramLanguageModel(vocabSize, rng);
    case "single-head": return new SingleHeadLanguageModel({ vocabSize, blockSize, nEmbd }, rng);
    case "multi-head": return new MultiHeadLanguageModel({ vocabSize, blockSize, nEmbd, nHead, feedForward }, rng);
    case "gpt": return new GPTLanguageModel(gptConfigOf(c, vocabSize), rng);
  }
}
