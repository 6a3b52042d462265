#!/usr/bin/env node
/**
 * The GPU run's resume state: a model directory of `npm run train -- --out DIR` in fewer bytes, so that it comes back
 * from one call (at most 64 MiB of files) and travels into the next with the pack (the working tree, at most 64 MiB).
 * As it is, it fits neither: gpt.py's model directory holds 10.8M weights and AdamW's two moments of each, 130 MB of
 * float32. The state keeps:
 *   - the weights in bfloat16: each is rounded once to 8 significant bits, so it moves by at most 1/256 of itself (a
 *     weight of gpt.py's typical size, 0.02, by 8e-5 at most: a quarter of what one AdamW step at lr 3e-4 can move it);
 *   - AdamW's second moment v in 8 bits a value, on a log scale between the smallest and largest of each block of 256
 *     (a block whose values span 20 octaves keeps each within 3%);
 *   - not AdamW's first moment m: the next call starts it at zero. It averages the last ten or so gradients (β1 0.9),
 *     so it is rebuilt within a few tens of steps, whose updates are meanwhile smaller, never larger;
 *   - everything else exactly: the step, AdamW's step count, the random state of the batches and of every Dropout,
 *     the evaluations so far, the configuration, the vocabulary, and whether the run is done.
 *
 *   node bench/dist/gpu/resume-state.js compact MODEL_DIR FILE [--done]
 *   node bench/dist/gpu/resume-state.js expand FILE MODEL_DIR [--results DIR]
 * The file: an 8-byte little-endian header length, the JSON header, then the weights' high bytes, their low bytes,
 * v's codes (one byte a value, 0 for zero) and each block's log2 range (two float32). Compress it to carry it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { AdamW, CharTokenizer, GPTLanguageModel, Rng, initBackend, loadModelDir, saveModelDir, type GPTConfig } from "@build-gpt/lib";
import { parseCommand, runMain, UsageError, type CommandSpec } from "@build-gpt/lib/internal";
import { partHelp, writeResult, type ResumeResult } from "./results";

const FORMAT = "build-gpt-ts resume state 1";
/** Values of v that share one log2 range. */
const BLOCK = 256;
/** What the state keeps exactly and what it does not, for the log. */
const HOW = "weights in bfloat16, AdamW's v in 8 bits, its m restarted at zero; the step and every random state exact";

interface Header {
  format: string;
  done: boolean;
  model: Required<GPTConfig>;
  vocabulary: string[];
  /** The train command's state (its config.json's "training"), kept as it is. */
  training: Record<string, unknown> & { step: number };
  /** AdamW's step count. */
  t: number;
  params: { name: string; shape: number[] }[];
}

/** Float32 to bfloat16, rounding to nearest (ties to even). */
function toBf16(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16;
  return out;
}

function fromBf16(h: Uint16Array): Float32Array {
  const bits = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
  return new Float32Array(bits.buffer);
}

/** v's values as codes 1..255 on a log2 scale between each block's smallest and largest (0: zero), and the ranges. */
function encodeV(v: Float32Array, codes: Uint8Array, ranges: Float32Array): void {
  for (let b = 0; b * BLOCK < v.length; b++) {
    const end = Math.min(v.length, (b + 1) * BLOCK);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = b * BLOCK; i < end; i++) {
      if (!(Number.isFinite(v[i]) && v[i] >= 0)) throw new Error(`AdamW's second moment holds ${v[i]} (value ${i}): it must be finite and >= 0. The model directory is damaged.`);
      if (v[i] > 0) [lo, hi] = [Math.min(lo, Math.log2(v[i])), Math.max(hi, Math.log2(v[i]))];
    }
    if (lo === Infinity) [lo, hi] = [0, 0];
    ranges.set([lo, hi], 2 * b);
    const scale = hi > lo ? 254 / (hi - lo) : 0;
    for (let i = b * BLOCK; i < end; i++) codes[i] = v[i] > 0 ? 1 + Math.round((Math.log2(v[i]) - lo) * scale) : 0;
  }
}

function decodeV(codes: Uint8Array, ranges: Float32Array): Float32Array {
  const v = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const b = Math.floor(i / BLOCK);
    const [lo, hi] = [ranges[2 * b], ranges[2 * b + 1]];
    v[i] = codes[i] === 0 ? 0 : 2 ** (lo + ((codes[i] - 1) * (hi - lo)) / 254);
  }
  return v;
}

const blocksOf = (n: number) => Math.ceil(n / BLOCK);
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Writes model directory `dir` as a resume state; returns its step and size in bytes. */
export async function compact(dir: string, file: string, done: boolean): Promise<{ step: number; bytes: number }> {
  const { model, tokenizer, config, optimizer } = loadModelDir(dir);
  try {
    const training = config.training as Header["training"] | undefined;
    if (!training || !optimizer) throw new Error(`${dir} holds no training state or no optimizer state: it was not written by npm run train, and cannot be resumed.`);
    const named = model.namedParameters();
    const header: Header = { format: FORMAT, done, model: config.config, vocabulary: config.vocabulary, training, t: optimizer.t, params: named.map(([name, p]) => ({ name, shape: p.shape })) };
    const high: Buffer[] = [];
    const low: Buffer[] = [];
    const codes: Buffer[] = [];
    const ranges: Buffer[] = [];
    for (const [i, [, p]] of named.entries()) {
      const w = new Uint8Array(toBf16((await p.data()) as Float32Array).buffer);
      high.push(Buffer.from(w.filter((_, k) => k % 2 === 1)));
      low.push(Buffer.from(w.filter((_, k) => k % 2 === 0)));
      const c = new Uint8Array(p.size);
      const r = new Float32Array(2 * blocksOf(p.size));
      encodeV(optimizer.v[i], c, r);
      codes.push(Buffer.from(c));
      ranges.push(Buffer.from(r.buffer));
    }
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    const bytes = Buffer.concat([length, json, ...high, ...low, ...codes, ...ranges]);
    writeFileSync(file, bytes);
    return { step: training.step, bytes: bytes.length };
  } finally {
    model.dispose();
  }
}

/** Reads a resume state: its header and, per parameter, its weights and v. */
function readState(file: string): { header: Header; weights: Float32Array[]; v: Float32Array[] } {
  const bytes = readFileSync(file);
  const n = bytes.length >= 8 ? Number(bytes.readBigUInt64LE(0)) : Infinity;
  if (8 + n > bytes.length) throw new Error(`${file} is not a resume state, or is cut short: join every part (resume.xz.00, .01, ...) before decompressing.`);
  const header = JSON.parse(bytes.toString("utf8", 8, 8 + n)) as Header;
  if (header.format !== FORMAT) throw new Error(`${file} is not a resume state of this version ("${header.format}", expected "${FORMAT}").`);
  const total = header.params.reduce((a, p) => a + sizeOf(p.shape), 0);
  const blocks = header.params.reduce((a, p) => a + blocksOf(sizeOf(p.shape)), 0);
  const start = 8 + n;
  if (bytes.length !== start + 3 * total + 8 * blocks) throw new Error(`${file} holds ${bytes.length} bytes; its header describes ${start + 3 * total + 8 * blocks}. It is damaged or cut short.`);
  const [high, low, codes] = [0, 1, 2].map((k) => bytes.subarray(start + k * total, start + (k + 1) * total));
  const ranges = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start + 3 * total, bytes.byteOffset + bytes.length));
  const weights: Float32Array[] = [];
  const v: Float32Array[] = [];
  let at = 0;
  let block = 0;
  for (const p of header.params) {
    const size = sizeOf(p.shape);
    const h = new Uint16Array(size);
    for (let i = 0; i < size; i++) h[i] = (high[at + i] << 8) | low[at + i];
    weights.push(fromBf16(h));
    v.push(decodeV(codes.subarray(at, at + size), ranges.subarray(2 * block, 2 * (block + blocksOf(size)))));
    at += size;
    block += blocksOf(size);
  }
  return { header, weights, v };
}

/** Writes resume state `file` as model directory `dir`, for `npm run train -- --out DIR --resume`. */
export async function expand(file: string, dir: string): Promise<ResumeResult> {
  const { header, weights, v } = readState(file);
  const model = new GPTLanguageModel(header.model, new Rng(1)); // the weights are replaced, the dropout streams restored on --resume
  const optimizer = new AdamW(model.parameters());
  try {
    const names = model.namedParameters().map(([name]) => name);
    if (names.join() !== header.params.map((p) => p.name).join()) throw new Error(`${file}: its parameters are not those of the model its header describes.`);
    const state = Object.fromEntries(header.params.map((p, i) => [p.name, tf.tensor(weights[i], p.shape)]));
    try {
      model.loadStateDict(state);
    } finally {
      tf.dispose(Object.values(state));
    }
    optimizer.loadState({ t: header.t, m: v.map((x) => new Float32Array(x.length)), v });
    await saveModelDir(dir, model, new CharTokenizer(header.vocabulary), { optimizer, training: header.training });
  } finally {
    model.dispose();
    optimizer.dispose();
  }
  return { step: header.training.step, done: header.done, how: HOW };
}

const RESUME_STATE_COMMAND: CommandSpec = {
  name: "gpu:resume-state",
  summary: "compact MODEL_DIR FILE: a model directory as a resume state; expand FILE MODEL_DIR: back (see the file's comment).",
  options: {
    done: { type: "boolean", help: "compact: the run is done (the next call trains no further)" },
    results: { type: "string", arg: "DIR", help: "expand: write resume.json there" },
  },
};

async function main(): Promise<void> {
  const [verb, from, to, ...rest] = process.argv.slice(2);
  const args = parseCommand(rest, RESUME_STATE_COMMAND);
  if (args.help || verb === "--help") return console.log(partHelp(RESUME_STATE_COMMAND, "node bench/dist/gpu/resume-state.js compact MODEL_DIR FILE [--done] | expand FILE MODEL_DIR [--results DIR]"));
  if (!["compact", "expand"].includes(verb) || !from || !to) throw new UsageError("Usage: resume-state.js compact MODEL_DIR FILE [--done] | expand FILE MODEL_DIR [--results DIR].");
  await initBackend("cpu"); // files only: the weights pass through the plain JavaScript backend
  tf.enableProdMode(); // which then leaves out its advice to install tfjs-node
  if (verb === "compact") {
    const done = args.values.done === true;
    const { step, bytes } = await compact(from, to, done);
    return console.log(`resume state of step ${step}${done ? " (the run is done)" : ""}: ${(bytes / 2 ** 20).toFixed(1)} MiB before compression (${HOW})`);
  }
  const result = await expand(from, to);
  console.log(`resuming at step ${result.step}${result.done ? " (the run is done)" : ""}: ${result.how}`);
  if (args.values.results) writeResult(args.values.results as string, "resume.json", result);
}

if (require.main === module) runMain(main);
