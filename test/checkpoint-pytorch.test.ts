import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CharTokenizer, GPTLanguageModel, Rng } from "@build-gpt/lib/internal";
import { loadModelDir, saveModelDir } from "@build-gpt/lib/dist/io/model-dir";
import { decodeSafetensors, encodeSafetensors } from "@build-gpt/lib/dist/io/safetensors";
import { backend } from "./helpers";

const root = path.resolve(__dirname, "..", "..");
const FIXTURE = path.join(root, "test", "fixtures", "pytorch-model");
const SCRIPT = path.join(root, "reference", "safetensors_reference.py");
const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const hasTorch = () => spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const tmp = () => mkdtempSync(path.join(tmpdir(), "ckpt-test-"));
const CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The largest |a - b| relative to the largest |b|. */
function relativeError(a: number[][][], b: number[][][]): number {
  const fa = a.flat(2);
  const fb = b.flat(2);
  assert.equal(fa.length, fb.length);
  const scale = Math.max(...fb.map(Math.abs));
  return Math.max(...fa.map((x, i) => Math.abs(x - fb[i]))) / scale;
}

function logitsOf(model: GPTLanguageModel, idx: number[][]): number[][][] {
  return tf.tidy(() => model.forward(tf.tensor2d(idx, undefined, "int32")).arraySync() as number[][][]);
}

test("a model directory written by PyTorch loads and gives PyTorch's logits (within 1e-5)", async () => {
  await backend();
  const { idx, logits } = JSON.parse(readFileSync(path.join(FIXTURE, "logits.json"), "utf8"));
  const { model, tokenizer } = loadModelDir(FIXTURE, { tokenizer: new CharTokenizer([...CHARS]), config: { nEmbd: 16, attention: "heads" } });
  assert.throws(() => loadModelDir(FIXTURE, { tokenizer: CharTokenizer.fromText("abc\u00e9") }),
    /trained on another vocabulary \(65 characters; the tokenizer given has 4\): only in the model: "\\n" " " .*; only in the tokenizer: "é"/);
  assert.throws(() => loadModelDir(FIXTURE, { config: { nLayer: 4 } }), /holds a model with nLayer = 2, but 4 was expected/);
  try {
    assert.equal(tokenizer.chars.join(""), CHARS);
    const err = relativeError(logitsOf(model, idx), logits);
    console.log(`PyTorch-written model: largest logit difference ${err.toExponential(2)} (relative)`);
    assert.ok(err <= 1e-5, `logits differ by ${err}`);
  } finally {
    model.dispose();
  }
});

test("model directories the library writes load in PyTorch (gpt.py's model, both attentions, strict) with the same logits", async (t) => {
  if (!hasTorch()) return t.skip(`PyTorch is not installed for ${PYTHON} (apt-get install python3-torch)`);
  await backend();
  const parent = tmp();
  const idx = [[0, 5, 9, 12, 40, 64, 1, 2], [3, 3, 3, 50, 51, 52, 53, 7]];
  const ours: number[][][][] = [];
  const dirs: string[] = [];
  for (const attention of ["heads", "batched"] as const) {
    const model = new GPTLanguageModel({ vocabSize: 65, blockSize: 8, nEmbd: 16, nHead: 4, nLayer: 2, attention }, new Rng(5));
    try {
      dirs.push(path.join(parent, attention));
      await saveModelDir(dirs[dirs.length - 1], model, new CharTokenizer([...CHARS]));
      ours.push(logitsOf(model.eval(), idx));
    } finally {
      model.dispose();
    }
  }
  const run = spawnSync(PYTHON, [SCRIPT, "check", ...dirs], { input: JSON.stringify({ idx }), encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const theirs = JSON.parse(run.stdout).logits as number[][][][];
  ["heads", "batched"].forEach((attention, i) => {
    const err = relativeError(theirs[i], ours[i]);
    console.log(`library-written model (${attention}) in PyTorch: largest logit difference ${err.toExponential(2)} (relative)`);
    assert.ok(err <= 1e-5, `${attention}: logits differ by ${err}`);
  });
});

/** A saved tiny model directory, and a function to rewrite its model.safetensors (keeping config.json's checksum or not). */
async function savedDir(): Promise<{ dir: string; rewrite: (edit: (m: Map<string, { shape: number[]; data: Float32Array }>) => void, fixSum?: boolean) => void }> {
  const model = new GPTLanguageModel({ vocabSize: 65, blockSize: 8, nEmbd: 16, nHead: 4, nLayer: 1 }, new Rng(5));
  const dir = path.join(tmp(), "run");
  await saveModelDir(dir, model, new CharTokenizer([...CHARS]));
  model.dispose();
  const file = path.join(dir, "model.safetensors");
  const rewrite = (edit: (m: Map<string, { shape: number[]; data: Float32Array }>) => void, fixSum = true) => {
    const { tensors } = decodeSafetensors(readFileSync(file), file);
    edit(tensors);
    const bytes = encodeSafetensors([...tensors].map(([name, t]) => ({ name, ...t })));
    writeFileSync(file, bytes);
    if (fixSum) {
      const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
      delete config.files["model.safetensors"];
      writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
    }
  };
  return { dir, rewrite };
}

test("model directory: a wrong shape, a missing or extra tensor, NaN, a bad checksum, another vocabulary: errors that name it", async () => {
  await backend();
  const before = tf.memory().numTensors;
  let d = await savedDir();
  d.rewrite((m) => m.set("lm_head.bias", { shape: [64], data: new Float32Array(64) }));
  assert.throws(() => loadModelDir(d.dir), /model.safetensors does not fit.*\n  lm_head.bias is \(64\), the model's is \(65\)/);
  d = await savedDir();
  d.rewrite((m) => { m.delete("ln_f.weight"); m.set("blocks.0.sa.extra", { shape: [1], data: new Float32Array(1) }); });
  assert.throws(() => loadModelDir(d.dir), /missing ln_f.weight \(16\)[\s\S]*unexpected blocks.0.sa.extra/);
  d = await savedDir();
  d.rewrite((m) => { m.get("lm_head.weight")!.data[7] = NaN; });
  assert.throws(() => loadModelDir(d.dir), /lm_head.weight holds values that are not finite/);
  d = await savedDir();
  d.rewrite((m) => { m.get("lm_head.weight")!.data[7] = 0.5; }, false);
  assert.throws(() => loadModelDir(d.dir), /model.safetensors is damaged: its sha256 differs/);
  d = await savedDir();
  const configFile = path.join(d.dir, "config.json");
  const config = JSON.parse(readFileSync(configFile, "utf8"));
  writeFileSync(configFile, JSON.stringify({ ...config, vocabulary: config.vocabulary.slice(1) }));
  assert.throws(() => loadModelDir(d.dir), /the vocabulary has 64 characters but config.vocabSize is 65/);
  writeFileSync(configFile, "{ \"model\": ");
  assert.throws(() => loadModelDir(d.dir), (e: Error) => e.message.startsWith(`${configFile} is damaged: it is not valid JSON`));
  assert.equal(tf.memory().numTensors, before, "no tensor left behind on the error paths");
});
