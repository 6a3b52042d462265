// A model directory is ours or untouched: what a save may write over, what it keeps, the run lock, a reader meeting a
// writer, a killed save's leftovers, and the damaged or hand-edited files a loader must refuse by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  CharTokenizer, GPTLanguageModel, JOURNAL, LOCK_FILE, Rng, commitFiles, decodeSafetensors, encodeSafetensors, loadModelDir,
  lockDirectory, saveModelDir,
} from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const tmp = () => mkdtempSync(path.join(tmpdir(), "model-dir-test-"));
const CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const tokenizer = () => new CharTokenizer([...CHARS]);
const DEAD_PID = 2 ** 22 + 12345; // above Linux's default pid_max: no live process has it
const LIB = path.resolve(__dirname, "..", "..", "lib", "dist");

function tinyModel(seed = 5): GPTLanguageModel {
  return new GPTLanguageModel({ vocabSize: 65, blockSize: 8, nEmbd: 16, nHead: 4, nLayer: 1 }, new Rng(seed));
}

async function save(dir: string, seed = 5): Promise<void> {
  const model = tinyModel(seed);
  try {
    await saveModelDir(dir, model, tokenizer());
  } finally {
    model.dispose();
  }
}

/** The first weights of the model saved in `dir`, to tell two saves apart. */
function firstWeights(dir: string): number[] {
  const { tensors } = decodeSafetensors(readFileSync(path.join(dir, "model.safetensors")), dir);
  return Array.from(tensors.get("lm_head.weight")!.data.slice(0, 4));
}

test("a save keeps the user's own files in a model directory, save after save", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  await save(dir, 1);
  writeFileSync(path.join(dir, "samples.txt"), "my samples");
  mkdirSync(path.join(dir, "plots"));
  writeFileSync(path.join(dir, "plots", "loss.png"), "png");
  await save(dir, 2);
  await save(dir, 3);
  assert.equal(readFileSync(path.join(dir, "samples.txt"), "utf8"), "my samples");
  assert.equal(readFileSync(path.join(dir, "plots", "loss.png"), "utf8"), "png");
  assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors", "plots", "samples.txt"]);
  const { model } = loadModelDir(dir);
  model.dispose();
});

test("a save refuses a folder that is not ours: another program's config.json, other files, a file; nothing is written", async () => {
  await backend();
  const hf = path.join(tmp(), "hf-model");
  mkdirSync(hf);
  writeFileSync(path.join(hf, "config.json"), JSON.stringify({ architectures: ["GPT2LMHeadModel"], n_embd: 768 }));
  writeFileSync(path.join(hf, "pytorch_model.bin"), "weights");
  await assert.rejects(save(hf), /hf-model: its config.json is not this library's .*Nothing was written/);
  assert.deepEqual(readdirSync(hf).sort(), ["config.json", "pytorch_model.bin"]);
  writeFileSync(path.join(hf, "config.json"), "null");
  await assert.rejects(save(hf), /its config.json is not this library's/);
  const notes = path.join(tmp(), "notes");
  mkdirSync(notes);
  writeFileSync(path.join(notes, "todo.txt"), "keep me");
  await assert.rejects(save(notes), /notes: it is a folder of other files \(todo.txt\), not a model directory/);
  assert.deepEqual(readdirSync(notes), ["todo.txt"]);
  await assert.rejects(save(path.join(notes, "todo.txt")), /todo.txt: it is a file/);
  await assert.rejects(save(""), /give the folder to save into, got ""/);
  const under = path.join(notes, "todo.txt", "run"); // a folder inside a file: the save fails, and says where
  await assert.rejects(save(under), (e: Error) => e.message.startsWith(`Could not save the model to ${under} (`));
  assert.equal(readFileSync(path.join(notes, "todo.txt"), "utf8"), "keep me");
});

test("a save killed before its journal leaves files that are not part of the directory; killed after it, the commit is finished", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  await save(dir, 1);
  const before = firstWeights(dir);
  // Killed while writing: a half-written new model beside the old one. Readers ignore it; the next save clears it.
  writeFileSync(path.join(dir, ".model.safetensors.new"), "half");
  assert.deepEqual(firstWeights(dir), before);
  loadModelDir(dir).model.dispose();
  // Killed after the journal: the new files are complete and the journal names them; a reader finishes the commit.
  const other = path.join(tmp(), "other");
  await save(other, 2);
  for (const name of ["model.safetensors", "config.json"]) writeFileSync(path.join(dir, `.${name}.new`), readFileSync(path.join(other, name)));
  writeFileSync(path.join(dir, JOURNAL), JSON.stringify({ pid: DEAD_PID, write: ["model.safetensors", "config.json"], remove: [] }));
  loadModelDir(dir).model.dispose();
  assert.deepEqual(firstWeights(dir), firstWeights(other));
  assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
  await save(dir, 3); // the next save finds nothing left over
  assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
});

test("a read-only folder holding a dead writer's journal: the loader reads the committed files, and does not fail on cleaning up", async () => {
  await backend();
  const parent = tmp();
  chmodSync(parent, 0o755); // readable by the unprivileged user the loader runs as
  const dir = path.join(parent, "run");
  await save(dir, 1);
  const other = path.join(tmp(), "other");
  await save(other, 2);
  for (const name of ["model.safetensors", "config.json"]) writeFileSync(path.join(dir, `.${name}.new`), readFileSync(path.join(other, name)));
  writeFileSync(path.join(dir, JOURNAL), JSON.stringify({ pid: DEAD_PID, write: ["model.safetensors", "config.json"], remove: [] }));
  for (const f of readdirSync(dir)) chmodSync(path.join(dir, f), 0o444);
  chmodSync(dir, 0o555);
  // The load runs as a user who may not write the folder: root may write anything, so as root it runs as nobody.
  const script = `
    const lib = require(${JSON.stringify(path.join(LIB, "internal.js"))});
    lib.initBackend("wasm").then(async () => {
      const { model } = lib.loadModelDir(${JSON.stringify(dir)});
      const w = model.namedParameters().find(([n]) => n === "lm_head.weight")[1];
      console.log(JSON.stringify(Array.from((await w.data()).slice(0, 4))));
    }).catch((e) => { console.error(e.message); process.exit(1); });`;
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"], cwd: parent, ...asNobody });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  chmodSync(dir, 0o755);
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out), firstWeights(other));
  assert.ok(existsSync(path.join(dir, JOURNAL)), "the folder could not be written: the journal is still there for a writer to finish");
});

test("the run lock: a second run is refused naming the first; a dead holder's lock is taken over; saveModelDir respects it", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  const lock = lockDirectory(dir, "npm run train --out run");
  assert.ok(existsSync(path.join(dir, LOCK_FILE)));
  // Another live process holds it: written as that process would.
  const other = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), "utf8"));
  lock.release();
  assert.equal(existsSync(dir), false, "the lock made the folder, nothing was put there: it is removed");
  mkdirSync(dir);
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ ...other, pid: process.ppid, what: "npm run train (the first)" }));
  assert.throws(() => lockDirectory(dir, "the second"), new RegExp(`in use by another training run: process ${process.ppid} \\(npm run train \\(the first\\)\\)`));
  await assert.rejects(save(dir), /a training run is saving there \(process \d+/);
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ ...other, pid: DEAD_PID }));
  const taken = lockDirectory(dir, "the second");
  assert.equal(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), "utf8")).pid, process.pid);
  await save(dir); // our own lock does not stop our own saves
  taken.release();
  assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
});

test("a reader meeting saves in progress never calls the good files damaged", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  await save(dir, 1);
  // Another process saves into dir again and again (a training run saving at each evaluation).
  const script = `
    const lib = require(${JSON.stringify(path.join(LIB, "internal.js"))});
    (async () => {
      await lib.initBackend("wasm");
      const tok = new lib.CharTokenizer([...${JSON.stringify(CHARS)}]);
      for (let i = 0; i < 60; i++) {
        const m = new lib.GPTLanguageModel({ vocabSize: 65, blockSize: 8, nEmbd: 16, nHead: 4, nLayer: 1 }, new lib.Rng(i));
        await lib.saveModelDir(${JSON.stringify(dir)}, m, tok);
        m.dispose();
      }
      console.log("done");
    })().catch((e) => { console.error(e.message); process.exit(1); });`;
  const writer = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let finished = false;
  let errors = "";
  writer.stderr.on("data", (d) => (errors += d));
  const exited = new Promise<number | null>((resolve) => writer.on("exit", (code) => { finished = true; resolve(code); }));
  let loads = 0;
  while (!finished) {
    loadModelDir(dir).model.dispose(); // throws "damaged" if it read half of one save and half of another
    loads++;
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await exited, 0, errors);
  assert.ok(loads > 5, `only ${loads} loads overlapped the saves`);
});

test("sampling's load does not need the optimizer's state: a missing or damaged optimizer file does not stop it", async () => {
  await backend();
  const dir = path.join(tmp(), "run");
  const model = tinyModel();
  const { AdamW } = await import("@build-gpt/lib/internal");
  const optimizer = new AdamW(model.parameters());
  await saveModelDir(dir, model, tokenizer(), { optimizer });
  model.dispose();
  optimizer.dispose();
  writeFileSync(path.join(dir, "optimizer.safetensors"), "damaged");
  loadModelDir(dir, { optimizer: false }).model.dispose();
  assert.throws(() => loadModelDir(dir), /optimizer.safetensors is damaged: its sha256 differs/);
});

/** A saved directory whose config.json is replaced by `edit` of it. */
async function withConfig(edit: (config: Record<string, unknown>) => unknown): Promise<string> {
  const dir = path.join(tmp(), "run");
  await save(dir);
  const file = path.join(dir, "config.json");
  writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(file, "utf8")))));
  return dir;
}

test("a malformed config.json is an error that names the file and the field, and leaves no tensor behind", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const cases: [(c: Record<string, unknown>) => unknown, RegExp][] = [
    [() => null, /config.json is not a model directory's config.json: it holds null, not an object/],
    [() => [1, 2], /it holds \[1,2\], not an object/],
    [({ config, ...c }) => c, /it needs "model": "GPTLanguageModel", "config" and "vocabulary"/],
    [(c) => ({ ...c, config: null }), /it needs "model": "GPTLanguageModel", "config" and "vocabulary"/],
    [(c) => ({ ...c, config: { ...(c.config as object), nEmbd: "16" } }), /config.nEmbd must be a positive integer, got "16"/],
    [(c) => ({ ...c, config: { ...(c.config as object), nLayer: 0 } }), /config.nLayer must be a positive integer, got 0/],
    [(c) => ({ ...c, vocabulary: (c.vocabulary as string[]).map((ch, i) => (i === 3 ? "ab" : ch)) }), /the vocabulary must be a list of single characters/],
    [(c) => ({ ...c, config: { ...(c.config as object), nEmbd: 1e8 } }), /token_embedding_table.weight is \(65,16\), config.json's sizes make it \(65,100000000\)/],
    [(c) => ({ ...c, config: { ...(c.config as object), blockSize: 4096 } }), /position_embedding_table.weight is \(8,16\), config.json's sizes make it \(4096,16\)/],
    [(c) => ({ ...c, config: { ...(c.config as object), nLayer: 400 } }), /holds 1 blocks, config.json says nLayer 400/],
    [(c) => ({ ...c, config: { ...(c.config as object), attention: "flash" } }), /attention must be "heads" or "batched"/],
  ];
  for (const [edit, expected] of cases) {
    const dir = await withConfig(edit);
    assert.throws(() => loadModelDir(dir), (e: Error) => expected.test(e.message) && e.message.includes(dir), `${expected}`);
  }
  assert.equal(tf.memory().numTensors, before, "no tensor left behind on the error paths");
});

/** The bytes of a safetensors file with `header` (JSON) and `data` bytes of data. */
function rawSafetensors(header: unknown, data: number): Buffer {
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const out = Buffer.alloc(8 + json.length + data);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8);
  return out;
}

test("the safetensors reader checks the layout the format requires, and names the tensor that breaks it", () => {
  const t = (offsets: unknown, shape: unknown = [2]) => ({ dtype: "F32", shape, data_offsets: offsets });
  const cases: [unknown, number, RegExp][] = [
    [{ a: t([-8, 0]) }, 8, /tensor "a" has the data offsets \[-8,0\], not two whole numbers/],
    [{ a: t([0, 8.5]) }, 8, /tensor "a" has the data offsets \[0,8.5\]/],
    [{ a: t([8, 0]) }, 8, /with begin <= end/],
    [{ a: t([0, 8]), b: t([4, 12]) }, 12, /tensor "b" starts at byte 4 of the data, where the tensor before it still runs \(they overlap\)/],
    [{ a: t([0, 8]), b: t([16, 24]) }, 24, /tensor "b" starts at byte 16 of the data, where the tensor before it ended at 8 \(a gap\)/],
    [{ a: t([8, 16]) }, 16, /tensor "a" starts at byte 8 of the data, where the tensor before it ended at 0/],
    [{ a: t([0, 8]) }, 12, /its tensors cover 8 bytes of data, the file holds 12/],
    [{ a: t([0, 12], [2]) }, 12, /tensor "a" of shape \(2\) needs 8 bytes, its offsets give 12/],
    [{ a: t([0, 8], [2.5]) }, 8, /tensor "a" has the shape \[2.5\], not a list of whole numbers/],
    [{ a: t([0, 8], [1e10, 1e10]) }, 8, /tensor "a" of shape \(10000000000,10000000000\) needs/],
    [{ a: null }, 0, /tensor "a" has no \{dtype, shape, data_offsets\} entry/],
    [[1, 2], 0, /its safetensors header is not a JSON object/],
    [{ __metadata__: { t: 3 } }, 0, /its __metadata__ must map names to strings/],
  ];
  for (const [header, data, expected] of cases) {
    assert.throws(() => decodeSafetensors(rawSafetensors(header, data), "x.safetensors"), (e: Error) => expected.test(e.message) && e.message.startsWith("x.safetensors"), `${expected}`);
  }
  const good = encodeSafetensors([{ name: "b", shape: [1], data: Float32Array.of(2) }, { name: "a", shape: [2], data: Float32Array.of(1, 3) }]);
  assert.deepEqual(Array.from(decodeSafetensors(good, "ok").tensors.get("a")!.data), [1, 3]);
});

test("commitFiles: the group replaces its files together and removes what it drops; other files stay", () => {
  const dir = tmp();
  writeFileSync(path.join(dir, "mine.txt"), "mine");
  commitFiles(dir, { "a.bin": Buffer.from("a1"), "b.bin": Buffer.from("b1") });
  commitFiles(dir, { "a.bin": Buffer.from("a2") }, ["b.bin"]);
  assert.deepEqual(readdirSync(dir).sort(), ["a.bin", "mine.txt"]);
  assert.equal(readFileSync(path.join(dir, "a.bin"), "utf8"), "a2");
});
