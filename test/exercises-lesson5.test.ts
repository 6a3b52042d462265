/** Lesson 5's checks: a right answer is right, the usual slips are wrong with a message that names them, todo is todo. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { exercises, FeedForward, LayerNorm, Module, MultiHeadAttention, todo } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkMultiHeadParameters, checkBlockShapes, checkLayerNorm, checkBlock } = exercises.lesson5;

/** Runs a check with its report silenced (the report prints the verdict outside a notebook). */
function quietly<T>(check: () => T): T {
  const log = console.log;
  console.log = () => {};
  try {
    return check();
  } finally {
    console.log = log;
  }
}

test("5.1 a multi-head layer's parameters: right at gpt.py's size, the usual slips named, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = quietly(() => checkMultiHeadParameters((C) => 3 * C * C + C * C + C));
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /parameters at nEmbd 384, 6 heads of 64: 590208 — right/);
  const noProjection = quietly(() => checkMultiHeadParameters((C) => 3 * C * C));
  assert.equal(noProjection.status, "wrong");
  assert.match(noProjection.lines.join("\n"), /got 442368, expected 590208[\s\S]*the projection adds a Linear\(C, C\)/);
  assert.match(noProjection.hint ?? "", /Count each Linear layer's weights/);
  const noBias = quietly(() => checkMultiHeadParameters((C) => 4 * C * C));
  assert.match(noBias.lines.join("\n"), /the projection's bias \(C numbers\) is missing/);
  const qkvBias = quietly(() => checkMultiHeadParameters((C) => 3 * C * C + 3 * C + C * C + C));
  assert.match(qkvBias.lines.join("\n"), /key, query and value have no bias/);
  const oneHead = quietly(() => checkMultiHeadParameters((C, nh) => 3 * C * (C / nh) + C * C + C));
  assert.match(oneHead.lines.join("\n"), /that is one head: there are nHead of them/);
  assert.equal(quietly(() => checkMultiHeadParameters(() => todo("count"))).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("5.2 shapes through a block: right, affinities as (B, T, headSize), hidden as C, one size only, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const shapes = (B: number, T: number, C: number, nh: number) => ({
    "x": [B, T, C], "one head's q": [B, T, C / nh], "one head's affinities": [B, T, T], "one head's output": [B, T, C / nh],
    "heads concatenated": [B, T, C], "feed-forward hidden": [B, T, 4 * C], "block output": [B, T, C],
  });
  const right = quietly(() => checkBlockShapes(shapes));
  assert.equal(right.status, "right", right.lines.join("\n"));
  const wrong = quietly(() => checkBlockShapes((B, T, C, nh) => ({ ...shapes(B, T, C, nh), "one head's affinities": [B, T, C / nh], "feed-forward hidden": [B, T, C] })));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines.join("\n"), /✗ B 2, T 5, C 12, 3 heads: one head's affinities: got \[2,5,4\], expected \[2,5,5\]/);
  assert.match(wrong.lines.join("\n"), /✗ B 2, T 5, C 12, 3 heads: feed-forward hidden: got \[2,5,12\], expected \[2,5,48\]/);
  const hardCoded = quietly(() => checkBlockShapes(() => shapes(2, 5, 12, 3)));
  assert.equal(hardCoded.status, "wrong", "an answer for one size only is not right");
  assert.equal(quietly(() => checkBlockShapes(() => todo("shapes"))).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

type Stats = { mean: tf.Tensor; variance: tf.Tensor };

/** A LayerNorm as the learner writes it (weight, bias, eps), its forward's normalisation given. */
function normClass(normalise: (x: tf.Tensor, ln: { weight: tf.Variable; bias: tf.Variable; eps: number }) => tf.Tensor) {
  return class extends Module {
    readonly weight: tf.Variable;
    readonly bias: tf.Variable;
    readonly eps = 1e-5;
    constructor(nEmbd: number) {
      super();
      this.weight = this.parameter("weight", tf.ones([nEmbd]));
      this.bias = this.parameter("bias", tf.zeros([nEmbd]));
    }
    forward(x: tf.Tensor): tf.Tensor {
      return tf.tidy(() => normalise(x, this));
    }
  };
}

/** (x − mean) / √(variance + eps) · weight + bias, with the statistics given. */
const affine = (x: tf.Tensor, { mean, variance }: Stats, ln: { weight: tf.Variable; bias: tf.Variable; eps: number }) =>
  x.sub(mean).div(variance.add(ln.eps).sqrt()).mul(ln.weight).add(ln.bias);

test("5.3 LayerNorm: right; batch norm's axis, the positions' axis, one mean for all, C − 1, eps, no gain and shift named; todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = quietly(() => checkLayerNorm(normClass((x, ln) => affine(x, tf.moments(x, -1, true), ln))));
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines.join("\n"), /LayerNorm of x \(4, 12\)[\s\S]*LayerNorm of x \(2, 5, 12\)/);
  const slip = (normalise: Parameters<typeof normClass>[0]) => {
    const v = quietly(() => checkLayerNorm(normClass(normalise)));
    assert.equal(v.status, "wrong");
    assert.match(v.hint ?? "", /LayerNorm's are a row's/);
    return v.lines.join("\n");
  };
  assert.match(slip((x, ln) => affine(x, tf.moments(x, 0, true), ln)), /normalises each column over the batch, as batch norm does/);
  assert.match(slip((x, ln) => affine(x, tf.moments(x, 1, true), ln)), /normalises over the positions \(axis 1/);
  assert.match(slip((x, ln) => affine(x, tf.moments(x), ln)), /one mean and variance for the whole tensor/);
  assert.match(slip((x, ln) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const C = x.shape[x.rank - 1];
    return affine(x, { mean, variance: variance.mul(C / (C - 1)) }, ln);
  }), /divided by C − 1/);
  assert.match(slip((x, ln) => affine(x, tf.moments(x, -1, true), { ...ln, eps: 0 })), /eps is missing/);
  assert.match(slip((x, ln) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(variance.sqrt().add(ln.eps)).mul(ln.weight).add(ln.bias);
  }), /eps belongs inside the square root/);
  assert.match(slip((x, ln) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(variance.add(ln.eps).sqrt());
  }), /the learned gain and shift are missing/);
  assert.equal(quietly(() => checkLayerNorm(normClass(() => todo("LayerNorm")))).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

/** A block as the learner writes it (sa, ffwd, ln1, ln2 from the library's parts), its forward given. */
function blockClass(forward: (b: { sa: MultiHeadAttention; ffwd: FeedForward; ln1: LayerNorm; ln2: LayerNorm }, x: tf.Tensor3D) => tf.Tensor, { saName = "sa" } = {}) {
  return class extends Module {
    readonly sa: MultiHeadAttention;
    readonly ffwd: FeedForward;
    readonly ln1: LayerNorm;
    readonly ln2: LayerNorm;
    constructor(nEmbd: number, nHead: number) {
      super();
      this.sa = this.module(saName, new MultiHeadAttention(nEmbd, nHead, nEmbd / nHead));
      this.ffwd = this.module("ffwd", new FeedForward(nEmbd));
      this.ln1 = this.module("ln1", new LayerNorm(nEmbd));
      this.ln2 = this.module("ln2", new LayerNorm(nEmbd));
    }
    forward(x: tf.Tensor3D): tf.Tensor3D {
      return tf.tidy(() => forward(this, x) as tf.Tensor3D);
    }
  };
}

test("5.4 the pre-norm block: right; post-norm, no residual, no LayerNorm, a normalised stream, swapped norms named; wrong names; todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = quietly(() => checkBlock(blockClass((b, x) => {
    const x1 = x.add(b.sa.forward(b.ln1.forward(x))) as tf.Tensor3D;
    return x1.add(b.ffwd.forward(b.ln2.forward(x1)));
  })));
  assert.equal(right.status, "right", right.lines.join("\n"));
  const slip = (forward: Parameters<typeof blockClass>[0]) => {
    const v = quietly(() => checkBlock(blockClass(forward)));
    assert.equal(v.status, "wrong");
    assert.match(v.hint ?? "", /Pre-norm: each branch reads a normalised copy/);
    return v.lines.join("\n");
  };
  assert.match(slip((b, x) => {
    const x1 = b.ln1.forward(x.add(b.sa.forward(x)) as tf.Tensor3D);
    return b.ln2.forward(x1.add(b.ffwd.forward(x1)) as tf.Tensor3D);
  }), /post-norm/);
  assert.match(slip((b, x) => b.ffwd.forward(b.ln2.forward(b.sa.forward(b.ln1.forward(x))))), /no residual: add each branch's output to its input/);
  assert.match(slip((b, x) => {
    const x1 = x.add(b.sa.forward(x)) as tf.Tensor3D;
    return x1.add(b.ffwd.forward(x1));
  }), /the LayerNorms are missing/);
  assert.match(slip((b, x) => {
    const n1 = b.ln1.forward(x);
    const n2 = b.ln2.forward(n1.add(b.sa.forward(n1)) as tf.Tensor3D);
    return n2.add(b.ffwd.forward(n2));
  }), /the stream itself was normalised/);
  assert.match(slip((b, x) => {
    const x1 = x.add(b.sa.forward(b.ln2.forward(x))) as tf.Tensor3D;
    return x1.add(b.ffwd.forward(b.ln1.forward(x1)));
  }), /ln1 and ln2 are swapped/);
  assert.match(slip((b, x) => {
    const x1 = x.add(b.sa.forward(b.ln1.forward(x))) as tf.Tensor3D;
    return x1.add(b.ffwd.forward(b.ln1.forward(x1)));
  }), /both branches read ln1/);
  const misnamed = quietly(() => checkBlock(blockClass((b, x) => x, { saName: "attn" })));
  assert.equal(misnamed.status, "wrong");
  assert.match(misnamed.lines.join("\n"), /your code threw: loadStateDict[\s\S]*missing sa\./);
  assert.equal(quietly(() => checkBlock(blockClass(() => todo("block")))).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});
