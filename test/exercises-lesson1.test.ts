/** Lesson 1's checks: right answers pass, typical wrong ones are told what is off, a todo() is "not done yet". */
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { exercises, todo } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkEncodeDecode, checkBlockExamples, checkBatch } = exercises.lesson1;
const text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\nhii there\n".repeat(3);
const chars = [...new Set(text)].sort();
const data = Int32Array.from(text, (c) => chars.indexOf(c));

test("1.1 encode/decode: right, off by one, and not done yet", () => {
  const encode = (s: string) => [...s].map((c) => chars.indexOf(c));
  const decode = (ids: number[]) => ids.map((i) => chars[i]).join("");
  const right = checkEncodeDecode(encode, decode, text);
  assert.equal(right.status, "right");
  assert.equal(inspect(right), exercises.verdictText(right), "a returned verdict prints as its text (in a notebook, as nothing: the box is shown)");
  const wrong = checkEncodeDecode((s) => encode(s).map((i) => i + 1), decode, text);
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✗ encode\("hii there"\): got \[\d+(,\d+)*\], expected \[/);
  assert.match(exercises.recipe(wrong.id!), /index in the sorted list chars/);
  const unsorted = [...new Set(text)];
  const v = checkEncodeDecode((s) => [...s].map((c) => unsorted.indexOf(c)), (ids) => ids.map((i) => unsorted[i]).join(""), text);
  assert.equal(v.status, "wrong", "an unsorted vocabulary gives other ids");
  assert.match(v.lines.find((l) => l.startsWith("✗"))!, /encode/);
  assert.equal(checkEncodeDecode(() => todo("encode"), () => todo("decode"), text).status, "todo");
});

test("1.2 the examples of a chunk: right, a context that misses its last token, not done yet", () => {
  const right = (chunk: ArrayLike<number>, blockSize: number) =>
    Array.from({ length: blockSize }, (_, t) => ({ context: Array.from(chunk).slice(0, t + 1), target: chunk[t + 1] }));
  assert.equal(checkBlockExamples(right, data).status, "right");
  const short = (chunk: ArrayLike<number>, blockSize: number) =>
    Array.from({ length: blockSize }, (_, t) => ({ context: Array.from(chunk).slice(0, t), target: chunk[t + 1] }));
  const wrong = checkBlockExamples(short, data);
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[1], new RegExp(`✗ example 0: got \\[\\] -> ${data[1]}, expected \\[${data[0]}\\] -> ${data[1]}`));
  assert.match(exercises.recipe(wrong.id!), /chunk\.slice\(0, t \+ 1\)/);
  assert.equal(checkBlockExamples(() => todo("examples"), data).status, "todo");
});

test("1.3 a batch by hand: right (arrays or tensors), y not shifted, not done yet; no tensors left", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const rows = (d: Int32Array, offsets: number[], T: number, shift: number) => offsets.map((i) => Array.from(d.subarray(i + shift, i + shift + T)));
  assert.equal(checkBatch((d, o, T) => ({ x: rows(d, o, T, 0), y: rows(d, o, T, 1) }), data).status, "right");
  const asTensors = checkBatch((d, o, T) => ({ x: tf.tensor2d(rows(d, o, T, 0), undefined, "int32"), y: tf.tensor2d(rows(d, o, T, 1), undefined, "int32") }), data);
  assert.equal(asTensors.status, "right");
  const wrong = checkBatch((d, o, T) => ({ x: rows(d, o, T, 0), y: rows(d, o, T, 0) }), data);
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[2], /✓ x at offsets \d+, \d+, \d+, \d+/);
  assert.match(wrong.lines[3], /✗ y \(the same chunks one token later\): got/);
  assert.match(exercises.recipe(wrong.id!), /one token later/);
  assert.equal(checkBatch(() => todo("batchAt"), data).status, "todo");
  assert.equal(tf.memory().numTensors, before, "the checks free what they make");
});
