/**
 * Checkpoints: a trained GPT with its configuration and vocabulary in one file, to sample from later without retraining.
 *
 * Format (little-endian): the 8 bytes "GPTCKPT1", a uint32 header length, the header as UTF-8 JSON
 * ({ format, model, config, vocabulary, parameters: [{ name, shape }], meta }), zero padding to a multiple of 4 bytes,
 * then every parameter's float32 values in header order. Parameter names are PyTorch state_dict names.
 * A checkpoint is written to a temporary file and renamed into place: it is there whole or not at all.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
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
}

export interface Checkpoint {
  model: GPTLanguageModel;
  tokenizer: CharTokenizer;
  /** Whatever was saved alongside (steps trained, losses, …). */
  meta: Record<string, unknown>;
}

/** Saves `model` (its configuration and weights) and the tokenizer's vocabulary to `path`, atomically. */
export function saveCheckpoint(path: string, model: GPTLanguageModel, tokenizer: CharTokenizer, meta: Record<string, unknown> = {}): void {
  if (tokenizer.vocabSize !== model.vocabSize) {
    throw new Error(`The tokenizer has ${tokenizer.vocabSize} characters but the model's vocabSize is ${model.vocabSize}: save the tokenizer the model was trained with.`);
  }
  const named = model.namedParameters();
  const header: Header = {
    format: FORMAT,
    model: "GPTLanguageModel",
    config: model.config,
    vocabulary: [...tokenizer.chars],
    parameters: named.map(([name, v]) => ({ name, shape: v.shape })),
    meta,
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const lead = 8 + 4 + json.length;
  const prefix = Buffer.alloc(lead + ((4 - (lead % 4)) % 4));
  prefix.write(MAGIC, 0, "latin1");
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);

  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, "w");
  try {
    writeSync(fd, prefix);
    for (const [, v] of named) {
      const values = v.dataSync() as Float32Array;
      writeSync(fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, path);
  } catch (err) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(temporary, { force: true });
    throw err;
  }
}

function readHeader(bytes: Buffer, path: string): { header: Header; dataStart: number } {
  if (bytes.length < 12 || bytes.toString("latin1", 0, 8) !== MAGIC) {
    throw new Error(`${path} is not a checkpoint written by saveCheckpoint (it does not start with ${MAGIC}).`);
  }
  const length = bytes.readUInt32LE(8);
  if (12 + length > bytes.length) throw new Error(`${path} is truncated: its header runs past the end of the file.`);
  const header = JSON.parse(bytes.toString("utf8", 12, 12 + length)) as Header;
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
