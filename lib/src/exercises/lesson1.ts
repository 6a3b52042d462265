/**
 * Lesson 1's exercises: encode/decode from the sorted vocabulary (1.1), the block-size examples of one chunk (1.2),
 * a batch cut by hand at given offsets (1.3). Each is compared with the library's CharTokenizer and getBatch.
 */
import * as tf from "@tensorflow/tfjs";
import { getBatch } from "../data/batches";
import { CharTokenizer } from "../data/tokenizer";
import { Rng } from "../random";
import { report, sameValue, verdict, type Finding, type Verdict } from "./verdict";

/** Strings the encode/decode check tries: the lecture's example, and pieces of the text itself. */
function probes(text: string): string[] {
  const middle = Math.floor(text.length / 2);
  return ["hii there", text.slice(0, 60), text.slice(middle, middle + 60)];
}

/** Exercise 1.1: the learner's encode and decode against CharTokenizer.fromText(text), and decode(encode(s)) = s. */
export function checkEncodeDecode(encode: (s: string) => number[], decode: (ids: number[]) => string, text: string): Verdict {
  return report(verdict("Exercise 1.1 — encode and decode", () => {
    const tokenizer = CharTokenizer.fromText(text);
    const findings: Finding[] = [];
    for (const s of probes(text)) {
      const ids = tokenizer.encode(s);
      findings.push(sameValue(`encode(${JSON.stringify(s.length > 20 ? `${s.slice(0, 20)}…` : s)})`, encode(s), ids));
      findings.push(sameValue(`decode of those ${ids.length} ids`, decode(ids), s));
    }
    return findings;
  }));
}

/** One training example of a chunk: the tokens seen so far and the token that should come next. */
export interface Example {
  context: number[];
  target: number;
}

/** The blockSize examples a chunk of blockSize + 1 tokens holds: after chunk[0..t], chunk[t + 1]. */
function examplesOf(chunk: ArrayLike<number>, blockSize: number): Example[] {
  const ids = Array.from(chunk);
  return Array.from({ length: blockSize }, (_, t) => ({ context: ids.slice(0, t + 1), target: ids[t + 1] }));
}

const showExample = (e: Example | undefined) => (e && typeof e === "object" ? `[${Array.from(e.context ?? []).join(", ")}] -> ${e.target}` : String(e));

/** Exercise 1.2: the learner's examples(chunk, blockSize) on the first blockSize + 1 tokens of `data`. */
export function checkBlockExamples(examples: (chunk: ArrayLike<number>, blockSize: number) => Example[], data: ArrayLike<number>, blockSize = 8): Verdict {
  return report(verdict("Exercise 1.2 — the examples in one chunk", () => {
    const chunk = Array.from(data).slice(0, blockSize + 1);
    const expected = examplesOf(chunk, blockSize);
    const got = examples(chunk, blockSize);
    if (!Array.isArray(got)) return [{ ok: false, line: `examples(...) returned ${typeof got}, expected an array of ${blockSize} { context, target } objects` }];
    const findings: Finding[] = [sameValue("number of examples", got.length, expected.length)];
    expected.forEach((e, t) => {
      const g = got[t];
      const ok = g !== undefined && JSON.stringify(Array.from(g.context ?? [])) === JSON.stringify(e.context) && g.target === e.target;
      findings.push({ ok, line: ok ? `example ${t}: ${showExample(e)} — right` : `example ${t}: got ${showExample(g)}, expected ${showExample(e)}` });
    });
    return findings;
  }));
}

/** What the learner's batch function may return: nested arrays, or (B, T) tensors (read and freed by the check). */
export interface HandBatch {
  x: number[][] | tf.Tensor;
  y: number[][] | tf.Tensor;
}

function rows(v: number[][] | tf.Tensor): unknown {
  if (v instanceof tf.Tensor) {
    try {
      return v.arraySync();
    } finally {
      v.dispose();
    }
  }
  return Array.isArray(v) ? v.map((r) => Array.from(r)) : v;
}

/**
 * Exercise 1.3: the learner's batchAt(data, offsets, blockSize) against the library's getBatch. The offsets are the
 * ones getBatch draws from Rng(seed), so both must give the same x and y.
 */
export function checkBatch(batchAt: (data: Int32Array, offsets: number[], blockSize: number) => HandBatch, data: Int32Array, batchSize = 4, blockSize = 8, seed = 42): Verdict {
  return report(verdict("Exercise 1.3 — a batch by hand", () => {
    const drawing = new Rng(seed);
    const offsets = Array.from({ length: batchSize }, () => drawing.int(data.length - blockSize));
    const { x, y } = getBatch(data, batchSize, blockSize, new Rng(seed));
    let expected: { x: number[][]; y: number[][] };
    try {
      expected = { x: x.arraySync(), y: y.arraySync() };
    } finally {
      tf.dispose([x, y]);
    }
    const got = batchAt(data, offsets, blockSize);
    const gx = rows(got?.x);
    const gy = rows(got?.y);
    const shape = (v: unknown) => (Array.isArray(v) ? [v.length, Array.isArray(v[0]) ? v[0].length : 0] : "not an array");
    return [
      sameValue("x shape (B, T)", shape(gx), [batchSize, blockSize]),
      sameValue("y shape (B, T)", shape(gy), [batchSize, blockSize]),
      sameValue(`x at offsets ${offsets.join(", ")}`, gx, expected.x),
      sameValue("y (the same chunks one token later)", gy, expected.y),
    ];
  }));
}
