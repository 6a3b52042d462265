/**
 * A model directory, as `npm run train -- --out DIR` writes it and PyTorch reads it:
 *
 *   DIR/model.safetensors      the weights under gpt.py's state_dict names, float32, with gpt.py's `tril` mask buffers
 *                              (nanoGPT's `bias` for batched attention), so `model.load_state_dict(load_file(...))` is strict
 *   DIR/config.json            the model's configuration (ours and gpt.py's names), the vocabulary, each file's sha256,
 *                              and, from `npm run train`, where training stands
 *   DIR/optimizer.safetensors  AdamW's moments (`m.NAME`, `v.NAME`), for resuming
 *
 * A save goes only into a new or empty folder, or into one of ours (its config.json carries our `format`); the three
 * files are replaced together, all or none (./dir-commit), and any other file in the folder is left as it is.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CharTokenizer } from "../data/tokenizer";
import { GPTLanguageModel, validateConfig, type GPTConfig } from "../models/gpt";
import { Rng } from "../random";
import type { AdamW } from "../train/adamw";
import { commitFiles, isCommitFile, readSettled } from "./dir-commit";
import { describeHolder, LOCK_FILE, lockHolder } from "./run-lock";
import { decodeSafetensors, encodeSafetensors, type Decoded, type NamedArray } from "./safetensors";

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
  /** Where a training run stands (./checkpoint), when one saved it. */
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

/** The folder's entries other than the commit protocol's and the run lock. */
const contents = (dir: string) => readdirSync(dir).filter((e) => !isCommitFile(e) && e !== LOCK_FILE);

/**
 * Throws unless a model can be saved into `dir`: it does not exist yet, or is an empty folder, or one of ours (a
 * config.json with our format). Anything else — a file, a folder of other files, another program's config.json — is
 * refused with what is there. Returns whether it already holds a model.
 */
export function checkModelDirTarget(dir: string): "new" | "model" {
  if (!existsSync(dir)) return "new";
  if (!statSync(dir).isDirectory()) throw new Error(`Cannot save a model to ${dir}: it is a file. Choose a folder (new or empty) instead.`);
  const entries = contents(dir);
  if (entries.length === 0) return "new";
  if (!entries.includes(CONFIG_FILE)) {
    const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? `, … (${entries.length} entries)` : "");
    throw new Error(`Cannot save a model to ${dir}: it is a folder of other files (${shown}), not a model directory. Nothing was written; choose a new or empty folder.`);
  }
  let format: unknown;
  try {
    format = (JSON.parse(readFileSync(path.join(dir, CONFIG_FILE), "utf8")) as { format?: unknown } | null)?.format;
  } catch {
    format = undefined;
  }
  if (format !== MODEL_DIR_FORMAT) {
    throw new Error(
      `Cannot save a model to ${dir}: its config.json is not this library's (no "format": "${MODEL_DIR_FORMAT}"), so the folder ` +
        `belongs to something else (a Hugging Face model, a project). Nothing was written; choose a new or empty folder.`,
    );
  }
  return "model";
}

/** Throws when a live training run other than this process holds `dir` (npm run train keeps it for its whole life). */
export function checkNotLocked(dir: string): void {
  const holder = existsSync(dir) ? lockHolder(dir) : undefined;
  if (holder) throw new Error(`Cannot save a model to ${dir}: a training run is saving there (${describeHolder(holder)}). Wait for it to finish, or choose another folder.`);
}

/** A tensor's values, read asynchronously (a GPU backend cannot read synchronously). */
const arrayOf = async (v: tf.Tensor) => Float32Array.from((await v.data()) as Float32Array);

export interface SaveModelDirOptions {
  /** Save the optimizer's moments and step count too (to resume training). */
  optimizer?: AdamW;
  /** Where a training run stands (JSON; ./checkpoint writes it). */
  training?: Record<string, unknown>;
  /** Notes of your own kept beside the model (JSON: steps trained, losses, ...), returned by loadModelDir as config.meta. */
  meta?: Record<string, unknown>;
}

async function encodeFiles(model: GPTLanguageModel, tokenizer: CharTokenizer, options: SaveModelDirOptions): Promise<Record<string, Buffer>> {
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
  return files;
}

const reason = (e: NodeJS.ErrnoException) =>
  e.code === "ENOSPC" ? "the disk is full" : ["EACCES", "EROFS", "EPERM"].includes(e.code ?? "") ? "the folder cannot be written" : e.code === "ENOTDIR" ? "a part of the path is a file" : e.code ?? e.message;

/**
 * Saves a GPTLanguageModel and its vocabulary as a model directory (see the top of this file): into a new or empty
 * folder, or over the model of one of ours, keeping every other file there.
 */
export async function saveModelDir(dir: string, model: GPTLanguageModel, tokenizer: CharTokenizer, options: SaveModelDirOptions = {}): Promise<void> {
  if (typeof dir !== "string" || dir.trim() === "") throw new Error(`saveModelDir: give the folder to save into, got ${JSON.stringify(dir)}.`);
  if (!(model instanceof GPTLanguageModel)) {
    const kind = (model as object)?.constructor?.name ?? typeof model;
    throw new Error(`A model directory holds a GPTLanguageModel (gpt.py's model); got ${kind}, which it cannot hold. Nothing was written to ${dir}. Train a "gpt" configuration (e.g. --config notebook-final) to save it.`);
  }
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new Error(`The tokenizer has ${tokenizer.vocabSize} characters but the model's vocabSize is ${model.vocabSize}: save the tokenizer the model was trained with.`);
  }
  checkModelDirTarget(dir);
  checkNotLocked(dir);
  const files = await encodeFiles(model, tokenizer, options);
  try {
    mkdirSync(dir, { recursive: true });
    commitFiles(dir, files, options.optimizer ? [] : [OPTIMIZER_FILE]);
  } catch (err) {
    throw new Error(`Could not save the model to ${dir} (${reason(err as NodeJS.ErrnoException)}); the model there before, if any, is unchanged.`);
  }
}

export interface LoadedModelDir {
  model: GPTLanguageModel;
  tokenizer: CharTokenizer;
  config: ModelDirConfig;
  /** AdamW's saved state, when the directory has one and it was asked for. */
  optimizer?: { t: number; m: Float32Array[]; v: Float32Array[] };
}

const GPT_SIZE_KEYS = ["vocabSize", "blockSize", "nEmbd", "nHead", "nLayer"] as const;

/** config.json's fields, each of the type it must have, or an error naming the file and the field. */
function checkConfigFields(file: string, raw: unknown): ModelDirConfig {
  const fail = (what: string) => new Error(`${file} is not a model directory's config.json: ${what}. Train again with --out, or restore the folder from a copy.`);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw fail(`it holds ${JSON.stringify(raw)?.slice(0, 40)}, not an object`);
  const c = raw as Partial<ModelDirConfig>;
  if (c.model !== "GPTLanguageModel" || c.config === null || typeof c.config !== "object" || !Array.isArray(c.vocabulary)) {
    throw fail(`it needs "model": "GPTLanguageModel", "config" and "vocabulary"`);
  }
  for (const key of GPT_SIZE_KEYS) {
    if (!Number.isInteger(c.config[key]) || c.config[key] < 1) throw fail(`config.${key} must be a positive integer, got ${JSON.stringify(c.config[key])}`);
  }
  if (!c.vocabulary.every((ch) => typeof ch === "string" && [...ch].length === 1)) throw fail("the vocabulary must be a list of single characters");
  if (c.vocabulary.length !== c.config.vocabSize) {
    throw new Error(`${file}: the vocabulary has ${c.vocabulary.length} characters but config.vocabSize is ${c.config.vocabSize}.`);
  }
  try {
    validateConfig(c.config);
  } catch (err) {
    throw fail((err as Error).message);
  }
  if (c.files !== undefined && (c.files === null || typeof c.files !== "object")) throw fail(`"files" must map file names to sha256 sums`);
  return c as ModelDirConfig;
}

/** Reads a model directory's config.json, with errors that name the file. */
export function readModelDirConfig(dir: string): ModelDirConfig {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist. Train a model into it first: npm run train -- --config notebook-final --out ${dir}.`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a model directory (npm run train -- --out DIR writes one).`);
  return readSettled(dir, [CONFIG_FILE], (fileOf) => parseConfig(dir, fileOf(CONFIG_FILE)), () => true);
}

function parseConfig(dir: string, file: string): ModelDirConfig {
  if (!existsSync(file)) throw new Error(`${dir} has no ${CONFIG_FILE}: it is not a model directory (npm run train -- --out ${dir} writes one).`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${path.join(dir, CONFIG_FILE)} is damaged: it is not valid JSON (${(err as Error).message}).`);
  }
  return checkConfigFields(path.join(dir, CONFIG_FILE), raw);
}

interface Snapshot {
  config: ModelDirConfig;
  bytes: Map<string, Buffer | undefined>;
}

/** config.json and the files it lists that `names` asks for, read together: never half of one save and half of the next. */
function readSnapshot(dir: string, names: string[]): Snapshot {
  const consistent = (s: Snapshot) => names.every((n) => s.bytes.get(n) === undefined || s.config.files?.[n] === undefined || sha256(s.bytes.get(n)!) === s.config.files[n]);
  return readSettled(dir, [CONFIG_FILE, ...names], (fileOf) => {
    const config = parseConfig(dir, fileOf(CONFIG_FILE));
    const bytes = new Map(names.map((n) => [n, existsSync(fileOf(n)) ? readFileSync(fileOf(n)) : undefined]));
    return { config, bytes };
  }, consistent);
}

/** A listed file's bytes, checked against the sha256 config.json recorded. */
function checkedBytes(dir: string, name: string, snapshot: Snapshot): Buffer {
  const bytes = snapshot.bytes.get(name);
  if (!bytes) throw new Error(`${dir} has no ${name}: the model directory is incomplete. Train again with --out ${dir}.`);
  const want = snapshot.config.files?.[name];
  if (want !== undefined && sha256(bytes) !== want) {
    throw new Error(`${path.join(dir, name)} is damaged: its sha256 differs from the one config.json recorded when it was saved. Train again, or restore it from a copy.`);
  }
  return bytes;
}

export interface LoadModelDirOptions {
  /** Seeds the model's dropout streams, should it be trained further; default new Rng(1337). */
  rng?: Rng;
  /** The tokenizer whose vocabulary the directory's must equal (a token must mean the same character). */
  tokenizer?: CharTokenizer;
  /** Settings the model must have; any difference is an error. */
  config?: Partial<GPTConfig>;
  /** Read AdamW's saved state too (default true); sampling does not need it. */
  optimizer?: boolean;
}

function checkVocabulary(dir: string, config: ModelDirConfig, expected: CharTokenizer): void {
  if (expected.chars.join("") === config.vocabulary.join("")) return;
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

/**
 * The sizes config.json gives, checked against the weights file's own shapes before a model of those sizes is built
 * (a damaged or hand-edited config.json could otherwise ask for gigabytes).
 */
function checkSizesAgainstWeights(file: string, c: GPTConfig, weights: Decoded): void {
  const expect = (name: string, shape: number[]) => {
    const t = weights.tensors.get(name);
    if (t && t.shape.join(",") !== shape.join(",")) {
      throw new Error(`${file} does not fit the model config.json describes: ${name} is (${t.shape}), config.json's sizes make it (${shape}).`);
    }
  };
  expect("token_embedding_table.weight", [c.vocabSize, c.nEmbd]);
  expect("position_embedding_table.weight", [c.blockSize, c.nEmbd]);
  const layers = new Set([...weights.tensors.keys()].map((n) => /^blocks\.(\d+)\./.exec(n)?.[1]).filter((i) => i !== undefined));
  if (layers.size !== c.nLayer) throw new Error(`${file} does not fit the model config.json describes: it holds ${layers.size} blocks, config.json says nLayer ${c.nLayer}.`);
}

function fillWeights(file: string, model: GPTLanguageModel, weights: Decoded): void {
  const params = new Map(model.namedParameters());
  const problems: string[] = [];
  for (const [name, v] of params) {
    const t = weights.tensors.get(name);
    if (!t) problems.push(`missing ${name} (${v.shape})`);
    else if (t.shape.join(",") !== v.shape.join(",")) problems.push(`${name} is (${t.shape}), the model's is (${v.shape})`);
    else if (!t.data.every(Number.isFinite)) problems.push(`${name} holds values that are not finite (NaN or Infinity)`);
  }
  for (const name of weights.tensors.keys()) if (!params.has(name) && !isMaskBuffer(name)) problems.push(`unexpected ${name}: the model has no such parameter`);
  if (problems.length) throw new Error(`${file} does not fit the model config.json describes:\n  ${problems.join("\n  ")}`);
  const state = Object.fromEntries([...params.keys()].map((name) => [name, tf.tensor(weights.tensors.get(name)!.data, weights.tensors.get(name)!.shape)]));
  try {
    model.loadStateDict(state);
  } finally {
    tf.dispose(Object.values(state));
  }
}

function readOptimizer(file: string, bytes: Buffer, names: string[]): LoadedModelDir["optimizer"] {
  const o = decodeSafetensors(bytes, file);
  const get = (name: string) => {
    const t = o.tensors.get(name);
    if (!t) throw new Error(`${file} has no ${name}: it belongs to another model. Train again, or restore the folder from a copy.`);
    return t.data;
  };
  const t = Number(o.metadata.t);
  if (!(Number.isInteger(t) && t >= 0)) throw new Error(`${file} is damaged: its step count (metadata "t") is ${JSON.stringify(o.metadata.t)}, not a whole number.`);
  return { t, m: names.map((n) => get(`m.${n}`)), v: names.map((n) => get(`v.${n}`)) };
}

/**
 * Loads a model directory: a new GPTLanguageModel with its weights (in evaluation mode), the tokenizer of its
 * vocabulary, its config.json, and AdamW's state when saved (unless `optimizer: false`). A missing, extra or misshapen
 * tensor, a non-finite weight or a file whose checksum differs is an error that names it. A save in progress is waited
 * for; a killed one's leftovers are finished or ignored.
 */
export function loadModelDir(dir: string, { rng = new Rng(1337), tokenizer: expected, config: want = {}, optimizer: withOptimizer = true }: LoadModelDirOptions = {}): LoadedModelDir {
  readModelDirConfig(dir); // a missing folder or config.json, named
  const snapshot = readSnapshot(dir, withOptimizer ? [MODEL_FILE, OPTIMIZER_FILE] : [MODEL_FILE]);
  const { config } = snapshot;
  for (const [key, value] of Object.entries(want)) {
    const got = config.config[key as keyof GPTConfig];
    if (got !== value) throw new Error(`${dir} holds a model with ${key} = ${JSON.stringify(got)}, but ${JSON.stringify(value)} was expected.`);
  }
  if (expected) checkVocabulary(dir, config, expected);
  const file = path.join(dir, MODEL_FILE);
  const weights = decodeSafetensors(checkedBytes(dir, MODEL_FILE, snapshot), file);
  checkSizesAgainstWeights(file, config.config, weights);
  const tokenizer = new CharTokenizer(config.vocabulary);
  const model = new GPTLanguageModel(config.config, rng); // the rng seeds dropout, should it train on
  try {
    fillWeights(file, model, weights);
    const names = model.namedParameters().map(([n]) => n);
    const optimizer = withOptimizer && config.files?.[OPTIMIZER_FILE]
      ? readOptimizer(path.join(dir, OPTIMIZER_FILE), checkedBytes(dir, OPTIMIZER_FILE, snapshot), names)
      : undefined;
    model.eval();
    return { model, tokenizer, config, optimizer };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
