/** Lesson 5's checks: a right answer is right, the usual slips are wrong with a message that names them, todo is todo. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { exercises, todo, type Block } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { multiHeadParametersVerdict, blockShapesVerdict, blockForwardVerdict } = exercises.lesson5;

test("5.1 a multi-head layer's parameters: right at gpt.py's size, the usual slips named, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = multiHeadParametersVerdict((C) => 3 * C * C + C * C + C);
  assert.equal(right.status, "right", right.lines.join("\n"));
  assert.match(right.lines[0], /parameters at nEmbd 384, 6 heads of 64: 590208 — right/);
  const noProjection = multiHeadParametersVerdict((C) => 3 * C * C);
  assert.equal(noProjection.status, "wrong");
  assert.match(noProjection.lines.join("\n"), /got 442368, expected 590208[\s\S]*the projection adds a Linear\(C, C\)/);
  const noBias = multiHeadParametersVerdict((C) => 4 * C * C);
  assert.match(noBias.lines.join("\n"), /the projection's bias \(C numbers\) is missing/);
  const oneHead = multiHeadParametersVerdict((C, nh) => 3 * C * (C / nh) + C * C + C);
  assert.match(oneHead.lines.join("\n"), /that is one head: there are nHead of them/);
  assert.equal(multiHeadParametersVerdict(() => todo("count")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("5.2 shapes through a block: right, affinities as (B, T, headSize), hidden as C, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const shapes = (B: number, T: number, C: number, nh: number) => ({
    "x": [B, T, C], "one head's q": [B, T, C / nh], "one head's affinities": [B, T, T], "one head's output": [B, T, C / nh],
    "heads concatenated": [B, T, C], "feed-forward hidden": [B, T, 4 * C], "block output": [B, T, C],
  });
  const right = blockShapesVerdict(shapes);
  assert.equal(right.status, "right", right.lines.join("\n"));
  const wrong = blockShapesVerdict((B, T, C, nh) => ({ ...shapes(B, T, C, nh), "one head's affinities": [B, T, C / nh], "feed-forward hidden": [B, T, C] }));
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines.join("\n"), /✗ B 2, T 5, C 12, 3 heads: one head's affinities: got \[2,5,4\], expected \[2,5,5\]/);
  assert.match(wrong.lines.join("\n"), /✗ B 2, T 5, C 12, 3 heads: feed-forward hidden: got \[2,5,12\], expected \[2,5,48\]/);
  const hardCoded = blockShapesVerdict(() => shapes(2, 5, 12, 3));
  assert.equal(hardCoded.status, "wrong", "an answer for one size only is not right");
  assert.equal(blockShapesVerdict(() => todo("shapes")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});

test("5.3 a block's forward: right, post-norm, no residual, todo", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const right = blockForwardVerdict((block: Block, x) => {
    const x1 = x.add(block.sa.forward(block.ln1!.forward(x))) as tf.Tensor3D;
    return x1.add(block.ffwd.forward(block.ln2!.forward(x1))) as tf.Tensor3D;
  });
  assert.equal(right.status, "right", right.lines.join("\n"));
  const postNorm = blockForwardVerdict((block, x) => {
    const x1 = block.ln1!.forward(x.add(block.sa.forward(x)) as tf.Tensor3D);
    return block.ln2!.forward(x1.add(block.ffwd.forward(x1)) as tf.Tensor3D);
  });
  assert.equal(postNorm.status, "wrong");
  assert.match(postNorm.lines.join("\n"), /post-norm/);
  const noResidual = blockForwardVerdict((block, x) => block.ffwd.forward(block.ln2!.forward(block.sa.forward(block.ln1!.forward(x)))));
  assert.match(noResidual.lines.join("\n"), /no residual: add each branch's output to its input/);
  const noNorm = blockForwardVerdict((block, x) => {
    const x1 = x.add(block.sa.forward(x)) as tf.Tensor3D;
    return x1.add(block.ffwd.forward(x1)) as tf.Tensor3D;
  });
  assert.match(noNorm.lines.join("\n"), /the LayerNorms are missing/);
  const normalisedStream = blockForwardVerdict((block, x) => {
    const n1 = block.ln1!.forward(x);
    const n2 = block.ln2!.forward(n1.add(block.sa.forward(n1)) as tf.Tensor3D);
    return n2.add(block.ffwd.forward(n2)) as tf.Tensor3D;
  });
  assert.match(normalisedStream.lines.join("\n"), /the stream itself was normalised/);
  assert.equal(blockForwardVerdict(() => todo("block")).status, "todo");
  assert.equal(tf.memory().numTensors, before);
});
