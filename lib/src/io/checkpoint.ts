/**
 * Checkpoints: a trained GPT with its configuration and vocabulary in one file, to sample from later without retraining.
 *
 * Format (little-endian): the 8 bytes "GPTCKPT1", a uint32 header length, the header as UTF-8 JSON
 * ({ format, model, config, vocabulary, parameters: [{ name, shape }], meta }), zero padding to a multiple of 4 bytes,
 * then every parameter's float32 values in header order. Parameter names are PyTorch state_dict names. The header's
 * `sha256` is the checksum of the values: a weight damaged or overwritten later is refused on load.
 * A checkpoint is written to a temporary file (`PATH.PID.tmp`) and renamed into place: it is there whole or not at all.
 * A save that was killed leaves its temporary file behind; the next save to the same path removes it.
 * For a checkpoint that PyTorch reads (safetensors), see ./model-dir (npm run train -- --out DIR).
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CharTokenizer } from "../data/tokenizer";
import { GPTLanguageModel, type GPTConfig } from "../models/gpt";
import { Rng } from "../random";

const MAGIC = "GPTCKPT1";
const FORMAT = 1;

interface Header {
  format: number;
  model: "GPTLanguageModel";
  config: Required<GPTConfig>;
  vocabulary: string[];
  parameters: { name: string; shape: number[] }[];
  meta: Record<string, unknown>;
  /** sha256 of the values (absent in checkpoints written before it was added). */
  sha256?: string;
}

export interface Checkpoint {
  model: GPTLanguageModel;
  tokenizer: CharTokenizer;
  /** Whatever was saved alongside (steps trained, losses, …). */
  meta: Record<string, unknown>;
}

/** Saves `model` (its configuration and weights) and the tokenizer's vocabulary to `path`, atomically. */
export function saveCheckpoint(file: string, model: GPTLanguageModel, tokenizer: CharTokenizer, meta: Record<string, unknown> = {}): void {
  if (!(model instanceof GPTLanguageModel)) {
    const kind = (model as object | undefined)?.constructor?.name ?? typeof model;
    throw new Error(`saveCheckpoint saves a GPTLanguageModel; got ${kind}, which the checkpoint format cannot hold (it rebuilds the model from a GPTConfig). Nothing was written to ${file}.`);
  }
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new Error(`The tokenizer has ${tokenizer.vocabSize} characters but the model's vocabSize is ${model.vocabSize}: save the tokenizer the model was trained with.`);
  }
  const named = model.namedParameters();
  const values = named.map(([, v]) => v.dataSync() as Float32Array);
  const hash = createHash("sha256");
  for (const x of values) hash.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const header: Header = {
    format: FORMAT,
    model: "GPTLanguageModel",
    config: model.config,
    vocabulary: [...tokenizer.chars],
    parameters: named.map(([name, v]) => ({ name, shape: v.shape })),
    meta,
    sha256: hash.digest("hex"),
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const lead = 8 + 4 + json.length;
  const prefix = Buffer.alloc(lead + ((4 - (lead % 4)) % 4));
  prefix.write(MAGIC, 0, "latin1");
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);

  removeOrphans(file);
  const temporary = `${file}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    if (existsSync(file) && statSync(file).isDirectory()) throw Object.assign(new Error("a directory"), { code: "EISDIR" });
    fd = openSync(temporary, "w");
    writeSync(fd, prefix);
    for (const x of values) writeSync(fd, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, file);
  } catch (err) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already closed */ }
    rmSync(temporary, { force: true });
    throw new Error(`Could not save the checkpoint to ${file} (${reason(err)}); a checkpoint already there is unchanged.`);
  }
}

/** A file-system error in words, without the temporary file's name. */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOSPC": return "the disk is full";
    case "EACCES": case "EPERM": case "EROFS": return "its folder cannot be written";
    case "ENOENT": return "its folder does not exist";
    case "EISDIR": return "it is a directory";
    default: return e.code ?? e.message;
  }
}

/** Temporary files of earlier saves to `file` that were killed (`file.PID.tmp` of a process that is gone). */
function removeOrphans(file: string): void {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // the save itself reports the folder
  }
  for (const entry of entries) {
    const m = /^(.*)\.(\d+)\.tmp$/.exec(entry);
    if (!m || m[1] !== base || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
    rmSync(path.join(dir, entry), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHeader(bytes: Buffer, path: string): { header: Header; dataStart: number } {
  if (bytes.length < 12 || bytes.toString("latin1", 0, 8) !== MAGIC) {
    throw new Error(`${path} is not a checkpoint written by saveCheckpoint (it does not start with ${MAGIC}).`);
  }
  const length = bytes.readUInt32LE(8);
  if (12 + length > bytes.length) throw new Error(`${path} is truncated: its header runs past the end of the file.`);
  let header: Header;
  try {
    header = JSON.parse(bytes.toString("utf8", 12, 12 + length)) as Header;
  } catch (err) {
    throw new Error(`${path} is damaged: its header is not valid JSON (${(err as Error).message}). Save the checkpoint again.`);
  }
  if (header.format !== FORMAT || header.model !== "GPTLanguageModel") {
    throw new Error(`${path} holds a ${header.model} checkpoint of format ${header.format}; this library reads GPTLanguageModel format ${FORMAT}.`);
  }
  const lead = 12 + length;
  return { header, dataStart: lead + ((4 - (lead % 4)) % 4) };
}

export interface LoadCheckpointOptions {
  /** Settings the checkpoint must have (say, the config the notebook expects); any difference is an error. */
  config?: Partial<GPTConfig>;
  /** The tokenizer the checkpoint's vocabulary must equal. */
  tokenizer?: CharTokenizer;
  /** Seeds the model's dropout streams, should it be trained further; default new Rng(1337). */
  rng?: Rng;
}

/** Loads a checkpoint: a new GPTLanguageModel with the saved weights (in evaluation mode), its tokenizer, its meta. */
export function loadCheckpoint(path: string, options: LoadCheckpointOptions = {}): Checkpoint {
  if (!existsSync(path)) throw new Error(`${path} does not exist: save a checkpoint there first (saveCheckpoint), or fix the path.`);
  if (statSync(path).isDirectory()) throw new Error(`${path} is a directory; loadCheckpoint reads a file written by saveCheckpoint (a model directory of npm run train loads with loadModelDir).`);
  const bytes = readFileSync(path);
  const { header, dataStart } = readHeader(bytes, path);
  for (const [key, want] of Object.entries(options.config ?? {})) {
    const got = header.config[key as keyof GPTConfig];
    if (got !== want) {
      throw new Error(`${path} was saved with ${key} = ${JSON.stringify(got)}, but ${JSON.stringify(want)} was expected. Train and save a model with these settings, or change the expected configuration.`);
    }
  }
  if (options.tokenizer && options.tokenizer.chars.join("") !== header.vocabulary.join("")) {
    throw new Error(`${path} was trained on a different vocabulary (${header.vocabulary.length} characters) than the tokenizer given (${options.tokenizer.vocabSize}): its tokens would mean other characters.`);
  }
  const expectedBytes = header.parameters.reduce((n, p) => n + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== dataStart + expectedBytes) {
    throw new Error(`${path} is damaged: it should hold ${dataStart + expectedBytes} bytes, it holds ${bytes.length}.`);
  }
  if (header.sha256 !== undefined && createHash("sha256").update(bytes.subarray(dataStart)).digest("hex") !== header.sha256) {
    throw new Error(`${path} is damaged: its weights' sha256 differs from the one saved with them (a weight was changed or overwritten after saving). Save it again, or restore a copy.`);
  }
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length));
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${path} holds a weight that is not finite (${data[bad]}, value ${bad} of ${data.length}): the model it was saved from had diverged, or the file was damaged.`);
  const model = new GPTLanguageModel(header.config, options.rng ?? new Rng(1337)); // the rng seeds dropout, should it train on
  const params = new Map(model.namedParameters());
  if (params.size !== header.parameters.length) {
    model.dispose();
    throw new Error(`${path} has ${header.parameters.length} parameters; a model with its configuration has ${params.size}.`);
  }
  let offset = dataStart;
  for (const { name, shape } of header.parameters) {
    const v = params.get(name);
    if (!v || v.shape.join(",") !== shape.join(",")) {
      model.dispose();
      throw new Error(`${path}: parameter ${name} (${shape}) does not fit the model (${v ? v.shape : "no such parameter"}).`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count));
    tf.tidy(() => v.assign(tf.tensor(values, shape)));
    offset += 4 * count;
  }
  model.eval();
  return { model, tokenizer: new CharTokenizer(header.vocabulary), meta: header.meta };
}
