/**
 * A training checkpoint: a model directory (./model-dir) that also records where a run stands, so that training
 * resumes exactly where it stopped — the same batches, the same dropout masks, the same optimizer state as the run
 * that was never stopped. `npm run train -- --out DIR --resume` and a notebook resume through the same two calls:
 *
 *     await saveCheckpoint(dir, { model, tokenizer, optimizer, rng, state });
 *     const { model, tokenizer, optimizer, rng, state } = loadCheckpoint(dir);
 */
import { createHash } from "node:crypto";
import * as configs from "../configs";
import type { CharTokenizer } from "../data/tokenizer";
import type { GPTLanguageModel } from "../models/gpt";
import { Dropout } from "../nn/layers";
import type { Module } from "../nn/module";
import { Rng } from "../random";
import { AdamW } from "../train/adamw";
import type { EvalPoint } from "../train/types";
import { loadModelDir, readModelDirConfig, saveModelDir } from "./model-dir";

/** Where a run stands after `step` steps: what resuming it needs, and what it has done so far. */
export interface TrainingState {
  /** The configuration trained, overrides included. */
  config: configs.Config;
  /** The seed the run started from. */
  seed: number;
  /** The text trained on: its path (null: tiny Shakespeare) and the sha256 of its characters. */
  data: { path: string | null; sha256: string };
  /** Steps completed. */
  step: number;
  /** The lowest val loss on this text so far. */
  bestVal: number;
  /** Every evaluation so far, on this text. */
  history: EvalPoint[];
  /** Milliseconds of training spent so far (a time budget's clock). */
  spentMs: number;
  /** The batch rng's state and each Dropout layer's, after `step` (before any evaluation at `step`). */
  rng: number;
  dropout: number[];
  /** Why this save was made. */
  saved: "val improved" | "interrupted";
}

/** The sha256 of a training text, to tell on resume whether it is the same text. */
export const textSha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The random streams of a model's Dropout layers (each draws its masks from its own Rng), in module order. */
export function dropoutStreams(model: Module): Rng[] {
  return model.namedModules().flatMap(([, m]) => {
    const rng = m instanceof Dropout ? m.randomStream : undefined;
    return rng ? [rng] : [];
  });
}

/** The random state of a run now: the batch rng's and each Dropout layer's. */
export function randomState(model: Module, rng: Rng): Pick<TrainingState, "rng" | "dropout"> {
  return { rng: rng.getState(), dropout: dropoutStreams(model).map((s) => s.getState()) };
}

export interface Checkpoint {
  model: GPTLanguageModel;
  tokenizer: CharTokenizer;
  /** AdamW with the configuration's settings and the saved moments and step count. */
  optimizer: AdamW;
  /** The batch rng, at its saved state. */
  rng: Rng;
  state: TrainingState;
}

/** Saves `checkpoint` into `dir` (a model directory: see saveModelDir for which folders it takes). */
export async function saveCheckpoint(dir: string, { model, tokenizer, optimizer, state }: Omit<Checkpoint, "rng">): Promise<void> {
  await saveModelDir(dir, model, tokenizer, { optimizer, training: state as unknown as Record<string, unknown> });
}

/** A state saved by an earlier version of the train command: the configuration by name, settings apart, no text hash. */
interface EarlierState {
  configName: string;
  settings: Partial<configs.Settings>;
  data: string | null;
}

/** The training state of `dir`'s config.json, or undefined when no training run saved it; an error when it is damaged. */
export function readTrainingState(dir: string): TrainingState | undefined {
  const raw = readModelDirConfig(dir).training as (Partial<TrainingState> & Partial<EarlierState>) | undefined;
  if (raw === undefined) return undefined;
  const bad = (what: string) => new Error(`${dir}/config.json: the training state is damaged (${what}). Sample the model, or train into a new --out.`);
  if (raw === null || typeof raw !== "object") throw bad("not an object");
  let state = raw as TrainingState;
  if (typeof raw.configName === "string") {
    const { configName, settings, data, ...rest } = raw as EarlierState & TrainingState;
    state = { ...rest, config: { ...configs.named(configName), ...settings }, data: { path: data, sha256: "" }, spentMs: 0 };
  }
  const ints = (xs: unknown) => Array.isArray(xs) && xs.every(Number.isInteger);
  if (typeof state.config !== "object" || state.config === null || typeof state.config.name !== "string") throw bad("no configuration");
  if (!Number.isInteger(state.step) || state.step < 0) throw bad(`step ${JSON.stringify(state.step)}`);
  if (!Number.isInteger(state.seed) || !Number.isInteger(state.rng) || !ints(state.dropout)) throw bad("the random state");
  if (!Array.isArray(state.history)) throw bad("no history");
  if (typeof state.bestVal !== "number") state.bestVal = Infinity; // JSON has no Infinity: saved before any evaluation
  state.spentMs ??= 0;
  return { ...state, config: configs.completed(state.config) };
}

/** The optimizer a configuration trains with, over `model`'s parameters. */
export function optimizerFor(c: configs.Settings, model: Module): AdamW {
  return new AdamW(model.parameters(), { lr: c.learningRate, betas: [c.beta1, c.beta2], weightDecay: c.weightDecay, decayOn: c.decayOn });
}

/**
 * Loads a checkpoint to resume: the model (in training mode), its tokenizer, the optimizer with its saved state, the
 * batch rng and the dropout streams at their saved states, and the training state. An error when `dir` holds no
 * training state (a model saved without one can be sampled, not resumed).
 */
export function loadCheckpoint(dir: string): Checkpoint {
  const state = readTrainingState(dir);
  if (!state) throw new Error(`${dir} holds a model but no training state (it was not saved by a training run); it cannot be resumed. Sample it, or train into a new folder.`);
  const { model, tokenizer, optimizer: saved } = loadModelDir(dir, { rng: new Rng(state.seed) });
  try {
    if (!saved) throw new Error(`${dir} has no optimizer state (optimizer.safetensors): it cannot be resumed exactly. Train into a new folder.`);
    const streams = dropoutStreams(model);
    if (streams.length !== state.dropout.length) throw new Error(`${dir}: the saved run has ${state.dropout.length} dropout streams, the model ${streams.length}.`);
    streams.forEach((s, i) => s.setState(state.dropout[i]));
    const optimizer = optimizerFor(state.config, model);
    try {
      optimizer.loadState(saved);
    } catch (err) {
      optimizer.dispose();
      throw err;
    }
    const rng = new Rng(state.seed);
    rng.setState(state.rng);
    model.train();
    return { model, tokenizer, optimizer, rng, state };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
