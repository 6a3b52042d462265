/**
 * Every model configuration of the course, in one place: the lecture's ladder, the notebook's CPU model, gpt.py's
 * model, nanoGPT's shakespeare-char sizes and its CPU variant. `npm run ladder`, `npm run bench`, `npm run train`,
 * the tests and the lessons read them from here, so no model's settings are written twice.
 * ../shared/docs/reference.md gives the source of each number.
 */
import { BigramLanguageModel } from "./models/bigram";
import { GPTLanguageModel, MultiHeadLanguageModel, type GPTConfig } from "./models/gpt";
import type { LanguageModel } from "./models/language-model";
import { SingleHeadLanguageModel } from "./models/single-head";
import type { Rng } from "./random";
import type { Workload } from "./engine/backend";

/** The model classes a configuration can build. */
export type ModelKind = "bigram" | "single-head" | "multi-head" | "gpt";

/** What a configuration sets: the model's sizes and switches, and how it is trained. Every key can be overridden. */
export interface ConfigSettings {
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
  learningRate: number;
  /** AdamW's decoupled weight decay (PyTorch's default 0.01, as gpt.py uses). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Training steps. */
  maxIters: number;
  evalInterval: number;
  evalIters: number;
}

export interface ModelConfiguration extends ConfigSettings {
  /** The name to ask for it by (`--config NAME`). */
  name: string;
  title: string;
  /** Where the numbers come from. */
  source: string;
  /** The validation loss its source reported, where it did. */
  reportedVal?: number;
}

/** The defaults every configuration starts from (PyTorch's AdamW, the lecture's training budget for the small models). */
const BASE: ConfigSettings = {
  model: "gpt", blockSize: 8, nEmbd: 32, nHead: 4, nLayer: 3, dropout: 0, feedForward: false, layerNorm: true,
  attention: "heads", init: "pytorch", batchSize: 32, learningRate: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999,
  maxIters: 5000, evalInterval: 500, evalIters: 200,
};

type Entry = Partial<ConfigSettings> & Pick<ModelConfiguration, "name" | "title" | "source" | "reportedVal">;

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
  // nanoGPT's config/train_shakespeare_char.py on gpt.py's model: its sizes and optimizer settings, without its
  // learning-rate warm-up and cosine decay or gradient clipping (this library's train() has neither).
  { name: "shakespeare-char", title: "nanoGPT shakespeare-char sizes (384, 6, 6, block 256) on gpt.py's model", source: "nanoGPT config/train_shakespeare_char.py",
    reportedVal: 1.4697, blockSize: 256, nEmbd: 384, nHead: 6, nLayer: 6, dropout: 0.2, attention: "batched", init: "gpt",
    batchSize: 64, learningRate: 1e-3, weightDecay: 0.1, beta2: 0.99, evalInterval: 250 },
  // nanoGPT's README, "I only have a macbook": the CPU-sized shakespeare-char run (there 2000 iterations, lr decay).
  { name: "nanogpt-cpu", title: "nanoGPT's CPU run (128, 4 heads, 4 layers, block 64)", source: "nanoGPT README, CPU settings",
    reportedVal: 1.88, blockSize: 64, nEmbd: 128, nHead: 4, nLayer: 4, attention: "batched", init: "gpt", batchSize: 12, maxIters: 2000, evalInterval: 250 },
];

/** Every configuration, in the order of the course. */
export const CONFIGS: readonly ModelConfiguration[] = ENTRIES.map((e) => ({ ...BASE, ...e }));

/** The configuration called `name`, or an error that lists them. */
export function configNamed(name: string): ModelConfiguration {
  const found = CONFIGS.find((c) => c.name === name);
  if (!found) throw new Error(`Unknown configuration ${JSON.stringify(name)}. The configurations: ${CONFIGS.map((c) => c.name).join(", ")}.`);
  return found;
}

/** The keys a configuration sets, each overridable. */
export const CONFIG_KEYS = Object.keys(BASE) as (keyof ConfigSettings)[];

/** Keys whose value must be a positive integer. */
const INTEGER_KEYS: (keyof ConfigSettings)[] = ["blockSize", "nEmbd", "nHead", "nLayer", "batchSize", "maxIters", "evalInterval", "evalIters"];
/** The allowed values of the keys that take one of a few words. */
const CHOICES: Partial<Record<keyof ConfigSettings, readonly string[]>> = {
  model: ["bigram", "single-head", "multi-head", "gpt"],
  attention: ["heads", "batched"],
  init: ["gpt", "pytorch"],
};

/** What `key` takes, for --help and error messages. */
export function describeKey(key: keyof ConfigSettings): string {
  if (CHOICES[key]) return CHOICES[key]!.join("|");
  if (INTEGER_KEYS.includes(key)) return "integer";
  return typeof BASE[key] === "boolean" ? "true|false" : "number";
}

/**
 * `value` (text from the command line) as the type of `key`, or an error that says what the key takes.
 * An unknown key is an error that lists the known ones.
 */
export function parseSetting<K extends keyof ConfigSettings>(key: K, value: string): ConfigSettings[K] {
  if (!CONFIG_KEYS.includes(key)) {
    throw new Error(`Unknown setting ${JSON.stringify(key)}. The settings: ${CONFIG_KEYS.join(", ")}.`);
  }
  const bad = (what: string) => new Error(`${key} must be ${what}, got ${JSON.stringify(value)}.`);
  const choices = CHOICES[key];
  if (choices) {
    if (!choices.includes(value)) throw bad(`one of ${choices.join(", ")}`);
    return value as ConfigSettings[K];
  }
  if (typeof BASE[key] === "boolean") {
    if (value !== "true" && value !== "false") throw bad("true or false");
    return (value === "true") as ConfigSettings[K];
  }
  const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim()) ? Number(value) : NaN;
  if (INTEGER_KEYS.includes(key)) {
    if (!(Number.isInteger(n) && n >= 1)) throw bad("a positive integer");
  } else if (!Number.isFinite(n)) {
    throw bad("a number");
  }
  return n as ConfigSettings[K];
}

/** A configuration with some settings changed (already typed); unknown keys are an error that lists the known ones. */
export function withOverrides(config: ModelConfiguration, overrides: Partial<ConfigSettings>): ModelConfiguration {
  const unknown = Object.keys(overrides).filter((k) => !CONFIG_KEYS.includes(k as keyof ConfigSettings));
  if (unknown.length) throw new Error(`Unknown setting ${unknown.map((k) => JSON.stringify(k)).join(", ")}. The settings: ${CONFIG_KEYS.join(", ")}.`);
  return { ...config, ...overrides };
}

/** The GPTConfig of a "gpt" configuration for a vocabulary of `vocabSize` characters. */
export function gptConfigOf(c: ConfigSettings, vocabSize: number): GPTConfig {
  if (c.model !== "gpt") throw new Error(`This configuration builds a ${c.model} model, not a GPTLanguageModel.`);
  const { blockSize, nEmbd, nHead, nLayer, dropout, layerNorm, attention, init } = c;
  return { vocabSize, blockSize, nEmbd, nHead, nLayer, dropout, layerNorm, attention, init };
}

/**
 * Which engine workload a configuration is (see initBackend): "scaled" for a GPT of gpt.py's width or wider, where a
 * GPU wins; "lessons" for the small models, which per-kernel overhead dominates and the CPU kernels run faster.
 */
export function workloadOf(c: ConfigSettings): Workload {
  return c.model === "gpt" && c.nEmbd >= 384 ? "scaled" : "lessons";
}

/** Builds the model a configuration describes, its weights drawn from `rng`. */
export function buildModel(c: ConfigSettings, vocabSize: number, rng: Rng): LanguageModel {
  const { blockSize, nEmbd, nHead, feedForward } = c;
  switch (c.model) {
    case "bigram": return new BigramLanguageModel(vocabSize, rng);
    case "single-head": return new SingleHeadLanguageModel({ vocabSize, blockSize, nEmbd }, rng);
    case "multi-head": return new MultiHeadLanguageModel({ vocabSize, blockSize, nEmbd, nHead, feedForward }, rng);
    case "gpt": return new GPTLanguageModel(gptConfigOf(c, vocabSize), rng);
  }
}
