// The lessons' instruments (lab): each measures what it says, on real models, and leaves nothing allocated.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Block, GPTLanguageModel, Head, Module, Rng, configs, lab, recordResults, readResults } from "@build-gpt/lib/internal";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { backend } from "./helpers";

/** Prints nothing while f runs; returns what it would have printed. */
async function quietly<T>(f: () => Promise<T> | T): Promise<{ value: T; printed: string }> {
  const log = console.log;
  let printed = "";
  console.log = (...args: unknown[]) => void (printed += args.join(" ") + "\n");
  try {
    return { value: await f(), printed };
  } finally {
    console.log = log;
  }
}

test("compareWithLibrary: the learner's copy of a layer gives 0; a different computation is called out; nothing left", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([2, 5, 8], 0, 1, "float32", 3) as tf.Tensor3D;
  const ours = new Head(8, 4).initWeights(new Rng(1));
  const same = await quietly(() => lab.compareWithLibrary("one head", ours, new Head(8, 4), x));
  assert.equal(same.value, 0);
  assert.match(same.printed, /one head, ours vs the library's: largest difference 0 \(the same numbers\)/);
  /** A head without the causal mask: the same weights, another computation. */
  class Unmasked extends Head {
    override forward(input: tf.Tensor3D): tf.Tensor3D {
      return tf.tidy(() => {
        const wei = tf.softmax(tf.matMul(this.query.forward(input), this.key.forward(input), false, true).mul(4 ** -0.5));
        return tf.matMul(wei, this.value.forward(input)) as tf.Tensor3D;
      });
    }
  }
  const unmasked = new Unmasked(8, 4).initWeights(new Rng(1));
  const different = await quietly(() => lab.compareWithLibrary("one head", unmasked, new Head(8, 4), x));
  assert.ok(different.value > 1e-3);
  assert.match(different.printed, /NOT the same computation/);
  tf.dispose([x]);
  ours.dispose();
  unmasked.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("traceShapes: every stage's shape down to one sampled token, checked against the model's own forward", async () => {
  await backend();
  const model = new GPTLanguageModel({ vocabSize: 65, blockSize: 5, nEmbd: 12, nHead: 3, nLayer: 2 }, new Rng(1));
  const idx = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [2, 5], "int32");
  const before = tf.memory().numTensors;
  const trace = await lab.traceShapes(model, idx, new Rng(2));
  assert.equal(tf.memory().numTensors, before);
  const shapeOf = (stage: RegExp) => trace.rows.find((r) => stage.test(String(r.stage)))?.shape;
  assert.equal(shapeOf(/^token embeddings/), "(2, 5, 12)");
  assert.equal(shapeOf(/head 0: query/), "(2, 5, 4)");
  assert.equal(shapeOf(/masked softmax/), "(2, 5, 5)");
  assert.equal(shapeOf(/feed-forward hidden/), "(2, 5, 48)");
  assert.equal(shapeOf(/logits$/), "(2, 5, 65)");
  assert.equal(shapeOf(/sampled/), "(2, 1)");
  assert.equal(trace.sampled.length, 2);
  assert.ok(trace.probabilities.every((p) => p > 0 && p < 1));
  assert.ok(trace.rows.some((r) => r.stage === "lm_head(ln_f(x)): logits"));
  const plain = new GPTLanguageModel({ vocabSize: 65, blockSize: 5, nEmbd: 12, nHead: 3, nLayer: 1, layerNorm: false }, new Rng(1));
  const plainTrace = await lab.traceShapes(plain, idx, new Rng(2));
  assert.ok(plainTrace.rows.some((r) => r.stage === "lm_head(x): logits"), "without LayerNorm the trace names no ln_f");
  assert.ok(!plainTrace.rows.some((r) => /ln1|ln_f/.test(String(r.stage))));
  plain.dispose();
  idx.dispose();
  model.dispose();
});

test("gptParameters counts what the model holds; trainingCost is 6 per multiplied parameter per token plus attention", async () => {
  await backend();
  for (const name of ["notebook-final", "gpt-py"]) {
    const config = configs.gptConfigOf(configs.named(name), 65);
    const model = new GPTLanguageModel(config, new Rng(0));
    assert.equal(lab.gptParameters(config), model.numParameters(), name);
    model.dispose();
  }
  const gptPy = configs.gptConfigOf(configs.named("gpt-py"), 65);
  const cost = lab.trainingCost(gptPy, { batchSize: 64, maxIters: 5000, evalInterval: 500, evalIters: 200 });
  assert.equal(cost.parameters, 10788929);
  assert.equal(cost.flopsPerToken, 6 * (10788929 - (65 + 256) * 384) + 12 * 6 * 256 * 384);
  assert.equal(cost.flopsPerStep, cost.flopsPerToken * 64 * 256);
  assert.equal(cost.flopsPerRun, cost.flopsPerStep * (5000 + (11 * 2 * 200) / 3));
});

test("timeIt: warm-up runs are not timed, a returned tensor is read and disposed, bad counts are refused", async () => {
  await backend();
  let calls = 0;
  const before = tf.memory().numTensors;
  const t = await lab.timeIt(() => {
    calls++;
    return tf.tidy(() => tf.ones([100]).sum());
  }, { repeat: 3, warmup: 2 });
  assert.equal(calls, 5);
  assert.equal(t.runs, 3);
  assert.ok(t.minMs <= t.medianMs && t.medianMs <= t.maxMs);
  assert.equal(tf.memory().numTensors, before);
  const slow = await lab.timeIt(() => new Promise((r) => setTimeout(r, 20)), { repeat: 1, warmup: 0 });
  assert.ok(slow.medianMs >= 15, `${slow.medianMs} ms for a 20 ms wait`);
  await assert.rejects(lab.timeIt(() => 0, { repeat: 0 }), /repeat must be a whole number >= 1/);
});

test("resultRows: the lecture's number, ours at full settings from the results file, and this run's, fast mode marked", () => {
  const rows = lab.resultRows("bigram", { step: 150, train: 3.1, val: 3.2, elapsedMs: 1 }, { fast: true });
  assert.deepEqual(rows[0], { run: "the lecture (the lecture's bigram.py)", steps: 3000, "val loss": 2.49 });
  assert.match(String(rows[2].run), /this run \(fast mode: fewer steps, not comparable\)/);
  assert.equal(rows[2]["val loss"], 3.2);
  const ours = readResults().bigram;
  if (ours) assert.equal(rows[1]["val loss"], ours.val);
  else assert.match(String(rows[1].run), /not recorded yet/);
  const file = path.join(mkdtempSync(path.join(tmpdir(), "results-")), "results.json");
  recordResults({ bigram: { train: 2.46, val: 2.4851, steps: 3000, seconds: 12 } }, file);
  recordResults({ "one-head": { train: 2.39, val: 2.41, steps: 5000, seconds: 30 } }, file);
  const both = readResults(file);
  assert.deepEqual(Object.keys(both).sort(), ["bigram", "one-head"]);
  assert.equal(both.bigram.val, 2.4851);
  assert.match(both.bigram.date, /^\d{4}-\d\d-\d\d$/);
  assert.match(both.bigram.machine, /\(\d+ cores\)$/);
});

test("blockStats: residual blocks keep the gradient that reaches the first block; a plain stack starves it", async () => {
  await backend();
  /** A block without the residual path: x -> ffwd(sa(x)). */
  class Plain extends Module {
    readonly inner: Block;
    constructor(rng: Rng) {
      super();
      this.inner = this.module("inner", new Block(16, 2, { layerNorm: false }));
      this.initWeights(rng);
    }
    forward(x: tf.Tensor3D): tf.Tensor3D {
      return tf.tidy(() => this.inner.ffwd.forward(this.inner.sa.forward(x)));
    }
  }
  const x = tf.randomNormal([2, 8, 16], 0, 1, "float32", 5) as tf.Tensor3D;
  const loss = (out: tf.Tensor3D) => out.square().mean() as tf.Scalar;
  const plain = Array.from({ length: 8 }, (_, i) => new Plain(new Rng(i)));
  const residual = Array.from({ length: 8 }, (_, i) => new Block(16, 2, { layerNorm: true }).initWeights(new Rng(i)) as Block);
  const before = tf.memory().numTensors;
  const [p, r] = [await lab.blockStats(plain, x, loss), await lab.blockStats(residual, x, loss)];
  assert.equal(tf.memory().numTensors, before);
  assert.equal(p.length, 8);
  const ratio = (s: lab.BlockStat[]) => s[0].gradientNorm / s[7].gradientNorm;
  assert.ok(ratio(p) < 1e-3, `plain: block 0 gets ${ratio(p)} of block 7's gradient`);
  assert.ok(ratio(r) > 0.1, `residual: block 0 gets ${ratio(r)} of block 7's gradient`);
  [...plain, ...residual].forEach((b) => b.dispose());
  x.dispose();
});
