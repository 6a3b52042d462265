/** Lesson 6's checks: a right answer is right, a typical wrong one is told what is off, a todo is "not done yet", nothing leaks. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  CharTokenizer, GPTLanguageModel, Linear, Module, Rng, AdamW, train, generate, causalSoftmax, exercises, todo, type GPTConfig,
} from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { batchedAttentionVerdict, parameterCountVerdict, ownTextVerdict } = exercises.lesson6;

/** A batched attention as the exercise asks for; `scale` lets a test get the scaling wrong. */
function batchedAttention(scale: (headSize: number, nEmbd: number) => number) {
  return class BatchedAttention extends Module {
    readonly cAttn: Linear;
    readonly cProj: Linear;
    constructor(readonly nEmbd: number, readonly nHead: number) {
      super();
      this.cAttn = this.module("c_attn", new Linear(nEmbd, 3 * nEmbd, { bias: false }));
      this.cProj = this.module("c_proj", new Linear(nEmbd, nEmbd));
    }
    forward(x: tf.Tensor3D): tf.Tensor3D {
      return tf.tidy(() => {
        const [B, T, C] = x.shape;
        const hs = C / this.nHead;
        const heads = (t: tf.Tensor) => t.reshape([B, T, this.nHead, hs]).transpose([0, 2, 1, 3]);
        const [q, k, v] = tf.split(this.cAttn.forward(x), 3, -1).map(heads);
        const wei = causalSoftmax(tf.matMul(q, k, false, true).mul(scale(hs, C)));
        const y = tf.matMul(wei, v).transpose([0, 2, 1, 3]).reshape([B, T, C]) as tf.Tensor3D;
        return this.cProj.forward(y);
      });
    }
  };
}

test("6.1 batched attention: right, wrong scale, wrong names, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = batchedAttentionVerdict(batchedAttention((hs) => hs ** -0.5));
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /against CausalSelfAttention: shape \(2, 5, 12\), largest difference/);
  assert.match(right.lines[1], /against MultiHeadAttention \(3 Heads/);

  const wrongScale = batchedAttentionVerdict(batchedAttention((_hs, C) => C ** -0.5));
  assert.equal(wrongScale.status, "wrong");
  assert.match(wrongScale.lines[0], /✗ .*largest difference [0-9.e-]+ \(allowed 1\.00e-5\)/);
  assert.match(exercises.recipe(wrongScale.id!), /headSize\^-0\.5 \(not C\^-0\.5\)/);

  class Renamed extends Module {
    readonly qkv = this.module("qkv", new Linear(12, 36, { bias: false }));
    constructor(_nEmbd: number, _nHead: number) { super(); }
    forward(x: tf.Tensor3D): tf.Tensor3D { return x; }
  }
  const renamed = batchedAttentionVerdict(Renamed);
  assert.equal(renamed.status, "wrong");
  assert.match(renamed.lines[0], /your code threw: the weights c_attn\.weight \(36, 12\), c_proj\.weight \(12, 12\) and c_proj\.bias \(12\) do not load into your class; register its layers as this\.module\("c_attn", \.\.\.\)[\s\S]*missing qkv\.weight/);

  class NotYet extends batchedAttention((hs) => hs ** -0.5) {
    forward(_x: tf.Tensor3D): tf.Tensor3D { return todo("BatchedAttention.forward"); }
  }
  assert.equal(batchedAttentionVerdict(NotYet).status, "todo");
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

/** The count as the exercise's reference solution writes it. */
function gptParameters({ vocabSize: V, blockSize: T, nEmbd: C, nLayer }: GPTConfig): number {
  const block = 2 * 2 * C + 3 * C * C + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return V * C + T * C + nLayer * block + 2 * C + (C * V + V);
}

test("6.2 parameter count: right, a forgotten table named, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = parameterCountVerdict(gptParameters);
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /gpt\.py: 10788929 — right/);

  const noPositions = parameterCountVerdict((c) => gptParameters(c) - c.blockSize * c.nEmbd);
  assert.equal(noPositions.status, "wrong");
  assert.match(noPositions.lines[0], /✗ gpt\.py: got 10690625, expected 10788929 \(off by -98304\) — exactly the size of position_embedding_table\.weight \(98304 numbers\): left out\?/);

  const noLmBias = parameterCountVerdict((c) => gptParameters(c) - c.vocabSize);
  assert.match(noLmBias.lines[1], /off by -65\) — exactly the size of lm_head\.bias/);

  assert.equal(parameterCountVerdict(() => todo("the count")).status, "todo");
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

const TEXT = Array.from({ length: 60 }, (_, i) => `line ${i % 7}: the cat sat on the mat, and the dog sat on the log.\n`).join("");

async function ownTextRun(steps: number) {
  const tokenizer = CharTokenizer.fromText(TEXT);
  const config = { vocabSize: tokenizer.vocabSize, blockSize: 16, nEmbd: 16, nHead: 2, nLayer: 1 };
  const rng = new Rng(1337);
  const model = new GPTLanguageModel(config, rng);
  const ids = Int32Array.from(tokenizer.encode(TEXT));
  if (steps > 0) {
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    await train(model, optimizer, { train: ids, val: ids }, { maxIters: steps, evalInterval: steps, evalIters: 2, batchSize: 8, blockSize: 16, rng });
    optimizer.dispose();
  }
  const sample = tokenizer.decode(await generate(model, [0], 40, { rng: new Rng(1) }));
  return { text: TEXT, tokenizer, model, sample };
}

test("6.3 own text: trained is right; untrained, a wrong vocabulary, short text and todo are not", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const models: GPTLanguageModel[] = [];
  const keep = async (steps: number) => { const r = await ownTextRun(steps); models.push(r.model); return r; };
  try {
    const right = await ownTextVerdict(() => keep(60));
    assert.equal(right.status, "right", right.lines.join("\n"));
    assert.match(right.lines.join("\n"), /loss on your text: [0-9.]+; the same model untrained: [0-9.]+; a uniform guess: [0-9.]+ — right, it has learned/);

    const untrained = await ownTextVerdict(() => keep(0));
    assert.equal(untrained.status, "wrong");
    assert.match(untrained.lines.join("\n"), /✗ loss on your text: .* — expected at least 0\.1 below the untrained model's/);

    assert.ok(models.every((m) => m.parameters().every((p) => p.isDisposed)), "the check disposes the run's model");

    const run = await keep(0);
    const lowerCase = await ownTextVerdict(async () => ({ ...run, tokenizer: CharTokenizer.fromText(TEXT.toUpperCase()) }));
    assert.equal(lowerCase.status, "wrong");
    assert.match(lowerCase.lines.join("\n"), /✗ the tokenizer's vocabulary: got/);

    const other = await keep(0);
    const short = await ownTextVerdict(async () => ({ ...other, text: "To be, or not to be" }));
    assert.match(short.lines[0], /✗ your text: 19 characters, expected at least 2000/);

    assert.equal((await ownTextVerdict(async () => todo("your text"))).status, "todo");
  } finally {
    for (const m of models) m.dispose(); // already done by the checks; disposing twice is harmless
  }
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});
