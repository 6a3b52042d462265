/** Lesson 6's checks: a right answer is right, a typical wrong one is told what is off, a todo is "not done yet", nothing leaks. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  Block, Embedding, LanguageModel, LayerNorm, Linear, Module, Rng, causalSoftmax, exercises, todo, type GPTConfig,
} from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkGptForward, checkBatchedAttention, checkParameterCount } = exercises.lesson6;

/** The lesson's GPT, its constructor as the exercise cell gives it; `forward` is what a test writes, right or wrong. */
function gptWith(forward: (m: InstanceType<ReturnType<typeof gptClass>>, idx: tf.Tensor2D) => tf.Tensor3D) {
  const Base = gptClass();
  return class extends Base {
    forward(idx: tf.Tensor2D): tf.Tensor3D {
      return forward(this, idx);
    }
  };
}

function gptClass(names = { lmHead: "lm_head" }) {
  return class GPT extends LanguageModel {
    readonly vocabSize: number;
    readonly blockSize: number;
    readonly tokenEmbeddingTable: Embedding;
    readonly positionEmbeddingTable: Embedding;
    readonly blocks: Block[];
    readonly lnF: LayerNorm;
    readonly lmHead: Linear;
    constructor(config: GPTConfig, rng: Rng) {
      super();
      const { vocabSize, blockSize, nEmbd, nHead, nLayer, dropout = 0, attention = "heads" } = config;
      this.vocabSize = vocabSize;
      this.blockSize = blockSize;
      this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, nEmbd));
      this.positionEmbeddingTable = this.module("position_embedding_table", new Embedding(blockSize, nEmbd));
      this.blocks = Array.from({ length: nLayer }, (_, i) => this.module(`blocks.${i}`, new Block(nEmbd, nHead, { dropout, attention })));
      this.lnF = this.module("ln_f", new LayerNorm(nEmbd));
      this.lmHead = this.module(names.lmHead, new Linear(nEmbd, vocabSize));
      this.initWeights(rng, { std: 0.02 });
    }
    forward(_idx: tf.Tensor2D): tf.Tensor3D {
      return todo("GPT.forward");
    }
  };
}

type GPT = InstanceType<ReturnType<typeof gptClass>>;

/** The reference forward, with switches for the usual mistakes. */
function forwardOf({ positions = "rows", lnF = true, blocks = true }: { positions?: "rows" | "none" | "whole table"; lnF?: boolean; blocks?: boolean } = {}) {
  return (m: GPT, idx: tf.Tensor2D): tf.Tensor3D => tf.tidy(() => {
    const T = idx.shape[1];
    let x = m.tokenEmbeddingTable.forward(idx);
    if (positions === "rows") x = x.add(m.positionEmbeddingTable.forward(tf.range(0, T, 1, "int32").expandDims(0) as tf.Tensor2D));
    if (positions === "whole table") x = x.add(m.positionEmbeddingTable.weight);
    if (blocks) for (const block of m.blocks) x = block.forward(x);
    if (lnF) x = m.lnF.forward(x);
    return m.lmHead.forward(x);
  });
}

test("6.1 the GPT's forward: right; no positions, no ln_f, no blocks and the whole position table named; wrong names; todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkGptForward(gptWith(forwardOf()));
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /✓ logits for idx of shape \(2, 6\), against GPTLanguageModel with your weights: shape \(2, 6, 11\), largest difference 0 — right/);
  assert.match(right.lines[1], /✓ logits for idx of shape \(2, 4\)/);

  const noPositions = checkGptForward(gptWith(forwardOf({ positions: "none" })));
  assert.equal(noPositions.status, "wrong");
  assert.match(noPositions.lines[0], /✗ .*largest difference .* — they are the logits of a GPT with the position embeddings left out/);
  assert.match(noPositions.hint!, /what a token is plus where it is/);

  const noLnF = checkGptForward(gptWith(forwardOf({ lnF: false })));
  assert.match(noLnF.lines[0], /— they are the logits of a GPT with the final LayerNorm \(ln_f\) left out/);
  const noBlocks = checkGptForward(gptWith(forwardOf({ blocks: false })));
  assert.match(noBlocks.lines[1], /— they are the logits of a GPT with the blocks left out/);

  const wholeTable = checkGptForward(gptWith(forwardOf({ positions: "whole table" })));
  assert.equal(wholeTable.status, "wrong", "right only while T equals blockSize");
  assert.match(wholeTable.lines[0], /✓ logits for idx of shape \(2, 6\)/);
  assert.match(wholeTable.lines[1], /✗ logits for idx of shape \(2, 4\), .*: your forward threw: .* — a context shorter than blockSize \(6\) takes only the position rows 0\.\.3/);

  const Renamed = class extends gptClass({ lmHead: "head" }) {
    forward(idx: tf.Tensor2D): tf.Tensor3D { return forwardOf()(this, idx); }
  };
  const renamed = checkGptForward(Renamed);
  assert.equal(renamed.status, "wrong");
  assert.match(renamed.lines[0], /your code threw: your model's weights do not load into GPTLanguageModel by name; keep the names[\s\S]*missing lm_head\.weight/);

  assert.equal(checkGptForward(gptClass()).status, "todo");
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

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

test("6.2 batched attention: right, wrong scale, wrong names, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkBatchedAttention(batchedAttention((hs) => hs ** -0.5));
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /against CausalSelfAttention: shape \(2, 5, 12\), largest difference/);
  assert.match(right.lines[1], /against MultiHeadAttention \(3 Heads/);

  const wrongScale = checkBatchedAttention(batchedAttention((_hs, C) => C ** -0.5));
  assert.equal(wrongScale.status, "wrong");
  assert.match(wrongScale.lines[0], /✗ .*largest difference [0-9.e-]+ \(allowed 1\.00e-5\)/);
  assert.match(exercises.recipe(wrongScale.id!), /headSize\^-0\.5 \(not C\^-0\.5\)/);

  class Renamed extends Module {
    readonly qkv = this.module("qkv", new Linear(12, 36, { bias: false }));
    constructor(_nEmbd: number, _nHead: number) { super(); }
    forward(x: tf.Tensor3D): tf.Tensor3D { return x; }
  }
  const renamed = checkBatchedAttention(Renamed);
  assert.equal(renamed.status, "wrong");
  assert.match(renamed.lines[0], /your code threw: the weights c_attn\.weight \(36, 12\), c_proj\.weight \(12, 12\) and c_proj\.bias \(12\) do not load into your class; register its layers as this\.module\("c_attn", \.\.\.\)[\s\S]*missing qkv\.weight/);

  class NotYet extends batchedAttention((hs) => hs ** -0.5) {
    forward(_x: tf.Tensor3D): tf.Tensor3D { return todo("BatchedAttention.forward"); }
  }
  assert.equal(checkBatchedAttention(NotYet).status, "todo");
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

/** The count as the exercise's reference solution writes it. */
function gptParameters({ vocabSize: V, blockSize: T, nEmbd: C, nLayer }: GPTConfig): number {
  const block = 2 * 2 * C + 3 * C * C + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return V * C + T * C + nLayer * block + 2 * C + (C * V + V);
}

test("6.3 parameter count: right, a forgotten table named, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = checkParameterCount(gptParameters);
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /gpt\.py: 10788929 — right/);

  const noPositions = checkParameterCount((c) => gptParameters(c) - c.blockSize * c.nEmbd);
  assert.equal(noPositions.status, "wrong");
  assert.match(noPositions.lines[0], /✗ gpt\.py: got 10690625, expected 10788929 \(off by -98304\) — exactly the size of position_embedding_table\.weight \(98304 numbers\): left out\?/);

  const noLmBias = checkParameterCount((c) => gptParameters(c) - c.vocabSize);
  assert.match(noLmBias.lines[1], /off by -65\) — exactly the size of lm_head\.bias/);

  assert.equal(checkParameterCount(() => todo("the count")).status, "todo");
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});
