import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { runTrain } from "@build-gpt/lib/dist/cli/train";
import { UsageError } from "@build-gpt/lib/dist/cli/args";
import { runSample } from "@build-gpt/lib/dist/cli/sample";
import { minimumTextLength } from "@build-gpt/lib/dist/io/text-file";
import { CharTokenizer, GPTLanguageModel, Rng, saveModelDir } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const tmp = () => mkdtempSync(path.join(tmpdir(), "cli-test-"));
/** A small text that is not Shakespeare. */
const TEXT = Array.from({ length: 40 }, (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog.\n`).join("");
/** A gpt configuration small enough to train in a second, with dropout so that its random streams matter. */
const TINY = ["--config", "notebook-final", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "8",
  "--batch-size", "4", "--eval-iters", "2", "--dropout", "0.1"];
const quiet = () => undefined;

function textFile(dir: string, content: string | Buffer = TEXT): string {
  const file = path.join(dir, "text.txt");
  writeFileSync(file, content);
  return file;
}

test("train --data: trains on a text other than Shakespeare, keeps the best model; sample streams from it", async () => {
  await backend();
  const dir = tmp();
  const out = path.join(dir, "run");
  const lines: string[] = [];
  const r = await runTrain([...TINY, "--max-iters", "10", "--eval-interval", "5", "--data", textFile(dir), "--out", out], { log: (l) => lines.push(l) });
  assert.ok(r && !r.interrupted);
  r.model.dispose();
  assert.equal(r.history.length, 3);
  assert.ok(lines.some((l) => /vocabulary of 36/.test(l)), lines.join("\n"));
  assert.deepEqual(readdirSync(out).sort(), ["config.json", "model.safetensors", "optimizer.safetensors"]);
  const config = JSON.parse(readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(config.vocabulary.join(""), [...new Set(TEXT)].sort().join(""));
  let text = "";
  const before = tf.memory().numTensors;
  await runSample(["--out", out, "--start", "the ", "--max-new-tokens", "30", "--seed", "3"], (t) => (text += t));
  assert.equal(tf.memory().numTensors, before);
  assert.ok(text.startsWith("the ") && text.length === 4 + 30 + 1, JSON.stringify(text));
  await assert.rejects(runTrain([...TINY, "--data", textFile(dir), "--out", out], { log: quiet }),
    /run already holds a model \(notebook-final, step 10, best val \d\.\d{4}\): add --resume to continue it, or choose another --out/);
  assert.ok([...text].every((c) => config.vocabulary.includes(c)));
  await assert.rejects(runSample(["--out", out, "--start", "Zebra é"]), /2 characters outside the model's vocabulary of 36: "Z" \(U\+005A\), "é" \(U\+00E9\)/);
});

test("train --resume after an interruption gives the uninterrupted run's losses, bit for bit", async () => {
  await backend();
  const dir = tmp();
  const data = textFile(dir);
  const run = [...TINY, "--max-iters", "12", "--eval-interval", "4", "--data", data];
  const full = await runTrain(run, { log: quiet });
  full!.model.dispose();

  const out = path.join(dir, "run");
  const stop = new AbortController();
  const first = await runTrain([...run, "--out", out], { log: quiet, signal: stop.signal, onStep: (s) => s === 6 && stop.abort() });
  first!.model.dispose();
  assert.ok(first!.interrupted);
  assert.equal(JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")).training.step, 6);
  const rest = await runTrain(["--out", out, "--resume"], { log: quiet });
  rest!.model.dispose();
  assert.deepEqual([...first!.stepLosses, ...rest!.stepLosses], full!.stepLosses);
  assert.deepEqual(rest!.history.map((p) => [p.step, p.train, p.val]), full!.history.map((p) => [p.step, p.train, p.val]));
});

test("train --data: a missing, empty, binary or too short file is a clear error", async () => {
  const dir = tmp();
  const train = (file: string) => runTrain([...TINY, "--max-iters", "1", "--data", file], { log: quiet });
  await assert.rejects(train(path.join(dir, "nope.txt")), /nope.txt: no such file/);
  await assert.rejects(train(textFile(dir, "")), /is empty/);
  await assert.rejects(train(textFile(dir, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]))), /looks binary \(a zero byte at offset 4\)/);
  await assert.rejects(train(textFile(dir, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))), /not valid UTF-8/);
  assert.equal(minimumTextLength(8), 81);
  await assert.rejects(train(textFile(dir, "x".repeat(80))), /has 80 characters, too short for block size 8: it needs at least 81/);
  await assert.rejects(train(dir), /is a directory/);
});

test("train: a model the directory cannot hold is refused before anything is written; bad settings name the key", async () => {
  const dir = tmp();
  const out = path.join(dir, "run");
  await assert.rejects(runTrain(["--config", "bigram", "--out", out], { log: quiet }), /bigram builds a bigram model/);
  assert.equal(existsSync(out), false);
  await assert.rejects(runTrain(["--config", "bigram", "--lr", "1"], { log: quiet }), /Unknown option '--lr'.*--learning-rate/);
  await assert.rejects(runTrain(["--max-iters", "5"], { log: quiet }), /Choose a configuration with --config NAME: bigram, one-head/);
  await assert.rejects(runTrain(["--config", "nope"], { log: quiet }), /Unknown configuration "nope"/);
  await assert.rejects(runTrain(["--resume"], { log: quiet }), /--resume continues .* --out DIR/);
});

for (const [signal, status, name] of [["SIGINT", 130, "Ctrl-C"], ["SIGHUP", 129, "a closed terminal (SIGHUP)"]] as const) {
  test(`npm run train: ${name} saves the run and exits with status ${status}`, async () => {
    const dir = tmp();
    const out = path.join(dir, "run");
    const script = path.resolve(__dirname, "..", "..", "lib", "dist", "cli", "train.js");
    const child = spawn(process.execPath, [script, ...TINY, "--max-iters", "100000", "--eval-interval", "50", "--data", textFile(dir), "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let sent = false;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (!sent && /step 50:/.test(stdout)) sent = child.kill(signal); // once: a second signal after the save would kill it
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, status, stdout);
    assert.match(stdout, new RegExp(`interrupted by ${signal} at step \\d+; saved to .*--resume`));
    const saved = JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")).training;
    assert.equal(saved.saved, "interrupted");
    assert.ok(saved.step >= 50);
  });
}

test("sample --out DIR: a model directory saveModelDir wrote (lesson 7) samples too; the same seed gives the same text", async () => {
  await backend();
  const file = path.join(tmp(), "run");
  const model = new GPTLanguageModel({ vocabSize: 36, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 1 }, new Rng(2));
  try {
    await saveModelDir(file, model, CharTokenizer.fromText(TEXT));
  } finally {
    model.dispose();
  }
  const texts = ["", ""];
  for (const i of [0, 1]) await runSample(["--out", file, "--max-new-tokens", "20", "--num-samples", "2", "--seed", "9"], (t) => (texts[i] += t));
  assert.equal(texts[0], texts[1]);
  assert.equal(texts[0].split("\n---------------\n").length, 2);
});

test("train --resume keeps the user's own files in the model directory", async () => {
  await backend();
  const dir = tmp();
  const out = path.join(dir, "run");
  const run = [...TINY, "--eval-interval", "2", "--data", textFile(dir), "--out", out];
  const first = await runTrain([...run, "--max-iters", "4"], { log: quiet });
  first!.model.dispose();
  writeFileSync(path.join(out, "samples.txt"), "my samples");
  mkdirSync(path.join(out, "plots"));
  writeFileSync(path.join(out, "plots", "loss.png"), "png");
  const rest = await runTrain(["--out", out, "--resume", "--max-iters", "12"], { log: quiet });
  rest!.model.dispose();
  assert.equal(readFileSync(path.join(out, "samples.txt"), "utf8"), "my samples");
  assert.equal(readFileSync(path.join(out, "plots", "loss.png"), "utf8"), "png");
  assert.ok(JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")).training.step > 4, "the resumed run saved");
});

test("two train runs into one --out at once: the second is refused at start, naming the first", async () => {
  const dir = tmp();
  const out = path.join(dir, "run");
  const script = path.resolve(__dirname, "..", "..", "lib", "dist", "cli", "train.js");
  const first = spawn(process.execPath, [script, ...TINY, "--max-iters", "100000", "--eval-interval", "50", "--data", textFile(dir), "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  await new Promise<void>((resolve) => first.stdout.on("data", (d) => { stdout += d; if (/step 0:/.test(stdout)) resolve(); }));
  const second = spawn(process.execPath, [script, "--out", out, "--resume"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  second.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => second.on("exit", resolve));
  first.kill("SIGTERM");
  const firstCode = await new Promise<number | null>((resolve) => first.on("exit", resolve));
  assert.equal(code, 2, err);
  assert.match(err, new RegExp(`run is in use by another training run: process ${first.pid} \\(npm run train --config notebook-final`));
  assert.equal(firstCode, 143, "SIGTERM saves and exits as a terminated process");
  assert.equal(JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")).training.saved, "interrupted");
  assert.ok(!existsSync(path.join(out, ".lock")), "the lock is released at the end");
});

test("train --resume --data OTHER: the best val starts afresh on the new text, and the last line reports this run's result", async () => {
  await backend();
  const dir = tmp();
  const out = path.join(dir, "run");
  const first = await runTrain([...TINY, "--max-iters", "20", "--eval-interval", "10", "--data", textFile(dir), "--out", out], { log: quiet });
  first!.model.dispose();
  const other = path.join(dir, "other.txt");
  writeFileSync(other, TEXT.toUpperCase().toLowerCase().split("").reverse().join(""));
  const lines: string[] = [];
  const rest = await runTrain(["--out", out, "--resume", "--data", other, "--max-iters", "30"], { log: (l) => lines.push(l) });
  rest!.model.dispose();
  assert.ok(lines.some((l) => /other.txt is not the text the saved run trained on: its best val starts afresh/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /^step 20: .*saved to/.test(l)), "the first evaluation on the new text is saved");
  assert.match(lines[lines.length - 1], /^done at step 30: train \d\.\d{4}, val \d\.\d{4}; this run's best val \d\.\d{4} \(step \d+\) is saved in/);
  const state = JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")).training;
  assert.equal(state.data.path, other);
  assert.ok(state.history.every((e: { step: number }) => e.step >= 20), "the history is the new text's");
});

test("train: empty paths, a device as --data and a folder that is not ours are usage errors, nothing trained", async () => {
  await assert.rejects(runTrain([...TINY, "--out", ""], { log: quiet }), (e: Error) => e instanceof UsageError && /--out needs a path, got an empty one/.test(e.message));
  await assert.rejects(runTrain([...TINY, "--data", " "], { log: quiet }), /--data needs a path, got an empty one/);
  await assert.rejects(runTrain([...TINY, "--max-iters", "1", "--data", "/dev/zero"], { log: quiet }), /--data \/dev\/zero is not a regular file/);
  const dir = tmp();
  writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: "gpt2" }));
  await assert.rejects(runTrain([...TINY, "--out", dir], { log: quiet }), /its config.json is not this library's/);
  await assert.rejects(runTrain(["--out", path.join(dir, "none"), "--resume"], { log: quiet }), /none holds no model to resume/);
  await assert.rejects(runSample(["--out", ""]), /--out needs a path/);
});

test("train: a configuration too large for the CPU engine's memory is refused before the first step, with the fix", async () => {
  await backend();
  const lines: string[] = [];
  await assert.rejects(runTrain(["--config", "shakespeare-char", "--max-iters", "1"], { log: (l) => lines.push(l) }),
    (e: Error) => /needs about \d+\.\d GiB of the engine's memory, which holds 4\.0 GiB/.test(e.message) && /--micro-batches \d+/.test(e.message));
  assert.ok(!lines.some((l) => /^step/.test(l)), "nothing was trained or evaluated");
});

test("npm run train with a block size too large for the machine: an error that says so, not an abort", async () => {
  const script = path.resolve(__dirname, "..", "..", "lib", "dist", "cli", "train.js");
  const child = spawn(process.execPath, [script, "--config", "notebook-final", "--block-size", "100000", "--max-iters", "1"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 1, err);
  assert.match(err, /out of memory|needs about [\d.]+ GiB/);
});
