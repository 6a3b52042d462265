import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BigramLanguageModel, CharTokenizer, GPTLanguageModel, MultiHeadLanguageModel, Rng, loadCheckpoint, saveCheckpoint } from "@build-gpt/lib";
import { backend } from "./helpers";

const tmp = () => mkdtempSync(path.join(tmpdir(), "ckpt-file-"));
const tokenizer = CharTokenizer.fromText("abcdefgh");
const tiny = () => new GPTLanguageModel({ vocabSize: 8, blockSize: 4, nEmbd: 8, nHead: 2, nLayer: 1 }, new Rng(3));

test("saveCheckpoint: temporary files of killed saves are removed by the next save", async () => {
  await backend();
  const dir = tmp();
  const file = path.join(dir, "model.ckpt");
  // a save killed midway: its process is gone (a pid above Linux's default pid_max), its temporary file stays
  writeFileSync(`${file}.${2 ** 22 + 7}.tmp`, "half a checkpoint");
  // a process that is alive (this test's parent) keeps its temporary file: it may be saving right now
  writeFileSync(`${file}.${process.ppid}.tmp`, "in progress");
  writeFileSync(path.join(dir, `other.ckpt.${2 ** 22 + 7}.tmp`), "another checkpoint's");
  const model = tiny();
  try {
    saveCheckpoint(file, model, tokenizer);
  } finally {
    model.dispose();
  }
  assert.deepEqual(readdirSync(dir).sort(), ["model.ckpt", `model.ckpt.${process.ppid}.tmp`, `other.ckpt.${2 ** 22 + 7}.tmp`].sort());
});

test("saveCheckpoint: errors name the user's path, not the temporary file; a model it cannot hold is refused before writing", async () => {
  await backend();
  const dir = tmp();
  const model = tiny();
  try {
    const missing = path.join(dir, "no-such-folder", "model.ckpt");
    assert.throws(() => saveCheckpoint(missing, model, tokenizer), (e: Error) =>
      e.message === `Could not save the checkpoint to ${missing} (its folder does not exist); a checkpoint already there is unchanged.`);
    mkdirSync(path.join(dir, "a-dir"));
    assert.throws(() => saveCheckpoint(path.join(dir, "a-dir"), model, tokenizer), /a-dir \(it is a directory\)/);
    assert.ok(!readdirSync(dir).some((f) => f.endsWith(".tmp")));
  } finally {
    model.dispose();
  }
  const before = tf.memory().numTensors;
  const bigram = new BigramLanguageModel(8, new Rng(1));
  const multi = new MultiHeadLanguageModel({ vocabSize: 8, blockSize: 4, nEmbd: 8, nHead: 2, feedForward: true }, new Rng(1));
  try {
    for (const m of [bigram, multi]) {
      const file = path.join(dir, `${m.constructor.name}.ckpt`);
      assert.throws(() => saveCheckpoint(file, m as unknown as GPTLanguageModel, tokenizer), new RegExp(`got ${m.constructor.name}, which the checkpoint format cannot hold`));
      assert.equal(existsSync(file), false);
    }
  } finally {
    bigram.dispose();
    multi.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test("loadCheckpoint: a corrupt header, a weight overwritten (NaN or not) and a missing file are errors naming the file", async () => {
  await backend();
  const dir = tmp();
  const file = path.join(dir, "model.ckpt");
  const model = tiny();
  try {
    saveCheckpoint(file, model, tokenizer);
  } finally {
    model.dispose();
  }
  const good = readFileSync(file);
  const before = tf.memory().numTensors;
  const damaged = Buffer.from(good);
  damaged.write("{{", 12, "latin1"); // the header's opening brace
  writeFileSync(file, damaged);
  assert.throws(() => loadCheckpoint(file), (e: Error) => e.message.startsWith(`${file} is damaged: its header is not valid JSON`));
  for (const value of [NaN, 0.125]) {
    const overwritten = Buffer.from(good);
    overwritten.writeFloatLE(value, good.length - 4); // the last weight
    writeFileSync(file, overwritten);
    assert.throws(() => loadCheckpoint(file), new RegExp(`${file.replace(/[.]/g, "\\.")} is damaged: its weights' sha256 differs`));
  }
  // a checkpoint written before the checksum (no sha256 in its header) still has its weights checked for NaN
  const header = JSON.parse(good.toString("utf8", 12, 12 + good.readUInt32LE(8)));
  delete header.sha256;
  const json = Buffer.from(JSON.stringify(header));
  const lead = 12 + json.length;
  const prefix = Buffer.alloc(lead + ((4 - (lead % 4)) % 4));
  prefix.write("GPTCKPT1", 0, "latin1");
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);
  const oldData = Buffer.from(good.subarray(good.length - header.parameters.reduce((n: number, p: { shape: number[] }) => n + 4 * p.shape.reduce((a, b) => a * b, 1), 0)));
  oldData.writeFloatLE(NaN, 0);
  writeFileSync(file, Buffer.concat([prefix, oldData]));
  assert.throws(() => loadCheckpoint(file), /holds a weight that is not finite \(NaN, value 0 of/);
  assert.throws(() => loadCheckpoint(path.join(dir, "nope.ckpt")), /nope.ckpt does not exist/);
  assert.equal(tf.memory().numTensors, before);
});

test("resumable state: Rng.getState/setState repeat a sequence; AdamW.state/loadState carry the moments and step count", async () => {
  await backend();
  const rng = new Rng(42);
  rng.next();
  const state = rng.getState();
  const ahead = [rng.next(), rng.int(100), rng.seed()];
  assert.equal(new Rng(1).setState(state).next(), ahead[0]);
  rng.setState(state);
  assert.deepEqual([rng.next(), rng.int(100), rng.seed()], ahead);
  assert.throws(() => rng.setState(-1), /getState\(\)/);

  const a = tiny();
  const b = tiny();
  const { AdamW } = await import("@build-gpt/lib");
  const oa = new AdamW(a.parameters(), { lr: 1e-2 });
  const ob = new AdamW(b.parameters(), { lr: 1e-2 });
  try {
    const grads = () => Object.fromEntries(a.parameters().map((p, i) => [p.name, tf.fill(p.shape, 0.01 * (i + 1))]));
    const g = grads();
    oa.step(g);
    oa.step(g);
    const saved = oa.state();
    ob.loadState({ t: saved.t, m: saved.m.map((x) => x.dataSync()), v: saved.v.map((x) => x.dataSync()) });
    assert.equal(ob.t, 2);
    b.loadStateDict(a.stateDict());
    const gb = Object.fromEntries(b.parameters().map((p, i) => [p.name, g[a.parameters()[i].name]]));
    oa.step(g);
    ob.step(gb);
    a.parameters().forEach((p, i) => assert.deepEqual(p.dataSync(), b.parameters()[i].dataSync()));
    tf.dispose(Object.values(g));
    assert.throws(() => ob.loadState({ t: 1, m: [], v: [] }), /moments of 0 parameters, this optimizer has/);
  } finally {
    oa.dispose();
    ob.dispose();
    a.dispose();
    b.dispose();
  }
});
