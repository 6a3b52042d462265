import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BigramLanguageModel, CharTokenizer, GPTLanguageModel, MultiHeadLanguageModel, Rng, loadModelDir, saveModelDir } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const tmp = () => mkdtempSync(path.join(tmpdir(), "model-dir-"));
const tokenizer = CharTokenizer.fromText("abcdefgh");
const tiny = () => new GPTLanguageModel({ vocabSize: 8, blockSize: 4, nEmbd: 8, nHead: 2, nLayer: 1 }, new Rng(3));

test("saveModelDir and loadModelDir: the same logits bit for bit, the notes kept, and what the loader was told to expect checked", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  const chars = CharTokenizer.fromText("abcdefghij \n");
  const model = new GPTLanguageModel({ vocabSize: chars.vocabSize, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 2, dropout: 0.1 }, new Rng(12)).eval();
  const idx = tf.tensor2d([chars.encode("abc def")], [1, 7], "int32");
  try {
    await saveModelDir(dir, model, chars, { meta: { steps: 0 } });
    assert.deepEqual(readdirSync(path.dirname(dir)), ["run"]); // nothing left beside it
    const loaded = loadModelDir(dir, { tokenizer: chars });
    try {
      const [a, b] = tf.tidy(() => [model.forward(idx), loaded.model.forward(idx)]);
      assert.deepEqual(Array.from(await b.data()), Array.from(await a.data()));
      tf.dispose([a, b]);
      assert.deepEqual(loaded.config.meta, { steps: 0 });
      assert.equal(loaded.tokenizer.decode(loaded.tokenizer.encode("cab")), "cab");
      assert.deepEqual(loaded.model.config, model.config);
      assert.equal(loaded.model.training, false, "loaded in evaluation mode");
    } finally {
      loaded.model.dispose();
    }
    const before = tf.memory().numTensors;
    assert.throws(() => loadModelDir(dir, { config: { nEmbd: 32 } }), /holds a model with nEmbd = 16, but 32 was expected/);
    assert.throws(() => loadModelDir(dir, { tokenizer: CharTokenizer.fromText("xyz") }), /was trained on another vocabulary/);
    assert.equal(tf.memory().numTensors, before, "nothing left behind by a refused load");
  } finally {
    idx.dispose();
    model.dispose();
  }
});

test("saveModelDir: a model class the format cannot hold is refused before anything is written", async () => {
  await backend();
  const parent = tmp();
  const before = tf.memory().numTensors;
  const bigram = new BigramLanguageModel(8, new Rng(1));
  const multi = new MultiHeadLanguageModel({ vocabSize: 8, blockSize: 4, nEmbd: 8, nHead: 2, feedForward: true }, new Rng(1));
  try {
    for (const m of [bigram, multi]) {
      const dir = path.join(parent, m.constructor.name);
      await assert.rejects(saveModelDir(dir, m as unknown as GPTLanguageModel, tokenizer), new RegExp(`got ${m.constructor.name}, which it cannot hold. Nothing was written`));
      assert.equal(existsSync(dir), false);
    }
  } finally {
    bigram.dispose();
    multi.dispose();
  }
  assert.deepEqual(readdirSync(parent), []);
  assert.equal(tf.memory().numTensors, before);
});

test("loadModelDir: a damaged config.json, a folder that is not a model directory and a missing one are errors naming them", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  const model = tiny();
  try {
    await saveModelDir(dir, model, tokenizer);
  } finally {
    model.dispose();
  }
  const before = tf.memory().numTensors;
  const config = path.join(dir, "config.json");
  writeFileSync(config, "{{" + readFileSync(config, "utf8"));
  assert.throws(() => loadModelDir(dir), (e: Error) => e.message.startsWith(`${config} is damaged: it is not valid JSON`));
  const notes = tmp();
  writeFileSync(path.join(notes, "notes.txt"), "mine");
  assert.throws(() => loadModelDir(notes), /has no config\.json: it is not a model directory/);
  assert.throws(() => loadModelDir(path.join(notes, "nope")), /nope does not exist/);
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
