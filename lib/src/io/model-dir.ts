/**
 * A model directory, as `npm run train -- --out DIR` writes it and PyTorch reads it:
 *
 *   DIR/model.safetensors      the weights under gpt.py's state_dict names, float32, with gpt.py's `tril` mask buffers
 *                              (nanoGPT's `bias` for batched attention), so `model.load_state_dict(load_file(...))` is strict
 *   DIR/config.json            the model's configuration (ours and gpt.py's names), the vocabulary, each file's sha256,
 *                              and, from `npm run train`, where training stands
 *   DIR/optimizer.safetensors  AdamW's moments (`m.NAME`, `v.NAME`), for --resume
 *
 * The directory is written whole or not at all: into a hidden sibling, then swapped into place by two renames. A save
 * that was killed leaves a sibling behind; the next save (or load) cleans it up, or restores the previous directory
 * when the kill fell between the two renames.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CharTokenizer } from "../data/tokenizer";
import { GPTLanguageModel, type GPTConfig } from "../models/gpt";
import { Dropout } from "../nn/layers";
import type { Module } from "../nn/module";
import { Rng } from "../random";
import type { AdamW } from "../train/adamw";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "./safetensors";

export const MODEL_DIR_FORMAT = "build-gpt-ts model directory 1";
const MODEL_FILE = "model.safetensors";
const OPTIMIZER_FILE = "optimizer.safetensors";
const CONFIG_FILE = "config.json";

export interface ModelDirConfig {
  format: string;
  model: "GPTLanguageModel";
  config: Required<GPTConfig>;
  /** The same sizes under gpt.py's names, for the Python side. */
  gpt_py: { vocab_size: number; block_size: number; n_embd: number; n_head: number; n_layer: number; dropout: number; attention: string };
  vocabulary: string[];
  /** sha256 of each file, checked on load: a damaged or overwritten weight is refused. */
  files: Record<string, string>;
  /** What npm run train needs to resume. */
  training?: Record<string, unknown>;
  /** The notes saveModelDir was given. */
  meta?: Record<string, unknown>;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** gpt.py's mask buffers: constants PyTorch keeps in the state_dict; the library builds the mask when it needs one. */
function maskBuffers(c: Required<GPTConfig>): NamedArray[] {
  const T = c.blockSize;
  const tril = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) tril[i * T + j] = 1;
  const out: NamedArray[] = [];
  for (let i = 0; i < c.nLayer; i++) {
    if (c.attention === "batched") out.push({ name: `blocks.${i}.sa.bias`, shape: [1, 1, T, T], data: tril });
    else for (let h = 0; h < c.nHead; h++) out.push({ name: `blocks.${i}.sa.heads.${h}.tril`, shape: [T, T], data: tril });
  }
  return out;
}
const isMaskBuffer = (name: string) => /^blocks\.\d+\.sa\.(heads\.\d+\.tril|bias)$/.test(name);

/** The random streams of a model's Dropout layers (each draws its masks from its own Rng), in module order. */
export function dropoutStreams(model: Module): Rng[] {
  return model.namedModules().flatMap(([, m]) => {
    const rng = m instanceof Dropout ? m.randomStream : undefined;
    return rng ? [rng] : [];
  });
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Siblings left by saves that were killed: `.NAME.saving-PID` (a half-written copy: removed) and `.NAME.old-PID` (the
 * previous directory, moved aside: removed when DIR is in place, moved back when the kill came before DIR was).
 */
export function cleanUpInterruptedSaves(dir: string): void {
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(path.resolve(dir));
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    const m = /^\.(.+)\.(saving|old)-(\d+)$/.exec(entry);
    if (!m || m[1] !== base || Number(m[3]) === process.pid || pidAlive(Number(m[3]))) continue;
    const sibling = path.join(parent, entry);
    if (m[2] === "old" && !existsSync(path.join(dir, CONFIG_FILE)) && existsSync(path.join(sibling, CONFIG_FILE))) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(sibling, dir);
    } else {
      rmSync(sibling, { recursive: true, force: true });
    }
  }
}

function writeFileDurably(file: string, bytes: Buffer): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `files` as the directory `dir`, replacing a previous model directory there, whole or not at all. */
function writeDirectory(dir: string, files: Record<string, Buffer>): void {
  const resolved = path.resolve(dir);
  const parent = path.dirname(resolved);
  const base = path.basename(resolved);
  if (existsSync(resolved)) {
    if (!statSync(resolved).isDirectory()) throw new Error(`Cannot save the model to ${dir}: it is a file. Choose a directory for --out.`);
    const entries = readdirSync(resolved);
    if (entries.length > 0 && !entries.includes(CONFIG_FILE)) {
      throw new Error(`Cannot save the model to ${dir}: it is a directory that holds other files (${entries.slice(0, 3).join(", ")}…), not a model directory. Choose a new or empty directory for --out.`);
    }
  }
  const saving = path.join(parent, `.${base}.saving-${process.pid}`);
  const old = path.join(parent, `.${base}.old-${process.pid}`);
  try {
    mkdirSync(parent, { recursive: true });
    cleanUpInterruptedSaves(resolved);
    rmSync(saving, { recursive: true, force: true });
    mkdirSync(saving);
    for (const [name, bytes] of Object.entries(files)) writeFileDurably(path.join(saving, name), bytes);
    if (existsSync(resolved)) renameSync(resolved, old);
    renameSync(saving, resolved);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    try {
      rmSync(saving, { recursive: true, force: true });
      if (!existsSync(resolved) && existsSync(old)) renameSync(old, resolved); // put the previous one back
    } catch {
      /* the folder itself cannot be used: nothing of ours is there */
    }
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOSPC" ? "the disk is full" : e.code === "EACCES" || e.code === "EROFS" || e.code === "EPERM" ? "the folder cannot be written" : e.code ?? e.message;
    throw new Error(`Could not save the model to ${dir} (${why}); the previous checkpoint there, if any, is unchanged.`);
  }
}

/** A tensor's values, read asynchronously (a GPU backend cannot read synchronously). */
const arrayOf = async (v: tf.Tensor) => Float32Array.from((await v.data()) as Float32Array);

export interface SaveModelDirOptions {
  /** Save the optimizer's moments and step count too (for --resume). */
  optimizer?: AdamW;
  /** What the trainer needs to resume (JSON). */
  training?: Record<string, unknown>;
  /** Notes of your own kept beside the model (JSON: steps trained, losses, ...), returned by loadModelDir as config.meta. */
  meta?: Record<string, unknown>;
}

/** Saves a GPTLanguageModel and its vocabulary as a model directory (see the top of this file). */
export async function saveModelDir(dir: string, model: GPTLanguageModel, tokenizer: CharTokenizer, options: SaveModelDirOptions = {}): Promise<void> {
  if (!(model instanceof GPTLanguageModel)) {
    const kind = (model as object)?.constructor?.name ?? typeof model;
    throw new Error(`A model directory holds a GPTLanguageModel (gpt.py's model); got ${kind}, which it cannot hold. Nothing was written to ${dir}. Train a "gpt" configuration (e.g. --config notebook-final) to save it.`);
  }
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new Error(`The tokenizer has ${tokenizer.vocabSize} characters but the model's vocabSize is ${model.vocabSize}: save the tokenizer the model was trained with.`);
  }
  const named = model.namedParameters();
  const weights = encodeSafetensors([
    ...(await Promise.all(named.map(async ([name, v]) => ({ name, shape: v.shape, data: await arrayOf(v) })))),
    ...maskBuffers(model.config),
  ], { format: "pt" });
  const files: Record<string, Buffer> = { [MODEL_FILE]: weights };
  if (options.optimizer) {
    const { t, m, v } = options.optimizer.state();
    const moments = await Promise.all(named.map(async ([name], i) => [
      { name: `m.${name}`, shape: m[i].shape, data: await arrayOf(m[i]) },
      { name: `v.${name}`, shape: v[i].shape, data: await arrayOf(v[i]) },
    ]));
    files[OPTIMIZER_FILE] = encodeSafetensors(moments.flat(), { t: String(t) });
  }
  const c = model.config;
  const config: ModelDirConfig = {
    format: MODEL_DIR_FORMAT,
    model: "GPTLanguageModel",
    config: c,
    gpt_py: { vocab_size: c.vocabSize, block_size: c.blockSize, n_embd: c.nEmbd, n_head: c.nHead, n_layer: c.nLayer, dropout: c.dropout, attention: c.attention },
    vocabulary: [...tokenizer.chars],
    files: Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, sha256(bytes)])),
    ...(options.training ? { training: options.training } : {}),
    ...(options.meta ? { meta: options.meta } : {}),
  };
  files[CONFIG_FILE] = Buffer.from(JSON.stringify(config, null, 1) + "\n");
  writeDirectory(dir, files);
}

export interface LoadedModelDir {
  model: GPTLanguageModel;
  tokenizer: CharTokenizer;
  config: ModelDirConfig;
  /** AdamW's saved state, when the directory has one. */
  optimizer?: { t: number; m: Float32Array[]; v: Float32Array[] };
}

function readChecked(dir: string, name: string, config: ModelDirConfig): Buffer {
  const file = path.join(dir, name);
  if (!existsSync(file)) throw new Error(`${dir} has no ${name}: the model directory is incomplete. Train again with --out ${dir}.`);
  const bytes = readFileSync(file);
  const want = config.files?.[name];
  if (want !== undefined && sha256(bytes) !== want) {
    throw new Error(`${file} is damaged: its sha256 differs from the one config.json recorded when it was saved. Train again, or restore it from a copy.`);
  }
  return bytes;
}

/** Reads a model directory's config.json, with errors that name the file. */
export function readModelDirConfig(dir: string): ModelDirConfig {
  cleanUpInterruptedSaves(dir);
  const file = path.join(dir, CONFIG_FILE);
  if (!existsSync(dir)) throw new Error(`${dir} does not exist. Train a model into it first: npm run train -- --config notebook-final --out ${dir}.`);
  if (!existsSync(file)) throw new Error(`${dir} has no ${CONFIG_FILE}: it is not a model directory (npm run train -- --out ${dir} writes one).`);
  let config: ModelDirConfig;
  try {
    config = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file} is damaged: it is not valid JSON (${(err as Error).message}).`);
  }
  if (config.model !== "GPTLanguageModel" || typeof config.config !== "object" || !Array.isArray(config.vocabulary)) {
    throw new Error(`${file} does not describe a GPTLanguageModel (it needs "model": "GPTLanguageModel", "config" and "vocabulary").`);
  }
  if (config.vocabulary.length !== config.config.vocabSize) {
    throw new Error(`${file}: the vocabulary has ${config.vocabulary.length} characters but config.vocabSize is ${config.config.vocabSize}.`);
  }
  return config;
}

export interface LoadModelDirOptions {
  /** Seeds the model's dropout streams, should it be trained further; default new Rng(1337). */
  rng?: Rng;
  /** The tokenizer whose vocabulary the directory's must equal (a token must mean the same character). */
  tokenizer?: CharTokenizer;
  /** Settings the model must have; any difference is an error. */
  config?: Partial<GPTConfig>;
}

/**
 * Loads a model directory: a new GPTLanguageModel with its weights (in evaluation mode), the tokenizer of its
 * vocabulary, its config.json, and AdamW's state when saved. A missing, extra or misshapen tensor, a non-finite weight
 * or a file whose checksum differs is an error that names it.
 */
export function loadModelDir(dir: string, { rng = new Rng(1337), tokenizer: expected, config: want = {} }: LoadModelDirOptions = {}): LoadedModelDir {
  const config = readModelDirConfig(dir);
  for (const [key, value] of Object.entries(want)) {
    const got = config.config[key as keyof GPTConfig];
    if (got !== value) throw new Error(`${dir} holds a model with ${key} = ${JSON.stringify(got)}, but ${JSON.stringify(value)} was expected.`);
  }
  if (expected && expected.chars.join("") !== config.vocabulary.join("")) {
    const theirs = new Set(config.vocabulary);
    const ours = new Set(expected.chars);
    const onlyTheirs = config.vocabulary.filter((c) => !ours.has(c));
    const onlyOurs = expected.chars.filter((c) => !theirs.has(c));
    const list = (cs: readonly string[]) => (cs.length ? cs.map((c) => JSON.stringify(c)).join(" ") : "none");
    throw new Error(
      `${dir} was trained on another vocabulary (${config.vocabulary.length} characters; the tokenizer given has ${expected.vocabSize}): ` +
        `only in the model: ${list(onlyTheirs)}; only in the tokenizer: ${list(onlyOurs)}${onlyTheirs.length + onlyOurs.length === 0 ? " (the same characters in another order)" : ""}. ` +
        `Its token ids would mean other characters: use the tokenizer it returns.`,
    );
  }
  const file = path.join(dir, MODEL_FILE);
  const { tensors } = decodeSafetensors(readChecked(dir, MODEL_FILE, config), file);
  const tokenizer = new CharTokenizer(config.vocabulary);
  const model = new GPTLanguageModel(config.config, rng); // the rng seeds dropout, should it train on
  try {
    const params = new Map(model.namedParameters());
    const problems: string[] = [];
    for (const [name, v] of params) {
      const t = tensors.get(name);
      if (!t) problems.push(`missing ${name} (${v.shape})`);
      else if (t.shape.join(",") !== v.shape.join(",")) problems.push(`${name} is (${t.shape}), the model's is (${v.shape})`);
      else if (!t.data.every(Number.isFinite)) problems.push(`${name} holds values that are not finite (NaN or Infinity)`);
    }
    for (const name of tensors.keys()) if (!params.has(name) && !isMaskBuffer(name)) problems.push(`unexpected ${name}: the model has no such parameter`);
    if (problems.length) throw new Error(`${file} does not fit the model config.json describes:\n  ${problems.join("\n  ")}`);
    const state = Object.fromEntries([...params.keys()].map((name) => [name, tf.tensor(tensors.get(name)!.data, tensors.get(name)!.shape)]));
    try {
      model.loadStateDict(state);
    } finally {
      tf.dispose(Object.values(state));
    }
    let optimizer: LoadedModelDir["optimizer"];
    if (config.files?.[OPTIMIZER_FILE]) {
      const o = decodeSafetensors(readChecked(dir, OPTIMIZER_FILE, config), path.join(dir, OPTIMIZER_FILE));
      const get = (name: string) => {
        const t = o.tensors.get(name);
        if (!t) throw new Error(`${path.join(dir, OPTIMIZER_FILE)} has no ${name}.`);
        return t.data;
      };
      optimizer = { t: Number(o.metadata.t), m: [...params.keys()].map((n) => get(`m.${n}`)), v: [...params.keys()].map((n) => get(`v.${n}`)) };
    }
    model.eval();
    return { model, tokenizer, config, optimizer };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
