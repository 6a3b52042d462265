/**
 * Lesson 5's exercises: the transformer block.
 *   5.1 count a multi-head layer's parameters at gpt.py's size   checkMultiHeadParameters(count)
 *   5.2 predict the shapes through a block                       checkBlockShapes(shapes)
 *   5.3 a block's forward: residual paths, pre-norm              checkBlockForward(fn)
 * Each compares with the library: a MultiHeadAttention's own count, the shapes a Block's pieces give, Block.forward.
 */
import * as tf from "@tensorflow/tfjs";
import { causalSoftmax, scaledAffinities } from "../nn/attention";
import { Block } from "../nn/block";
import { MultiHeadAttention } from "../nn/multi-head";
import { Rng } from "../random";
import { tidyFindings } from "./tidy";
import { closeTensor, report, sameValue, verdict, type Finding, type Verdict } from "./verdict";

// ---- 5.1 -------------------------------------------------------------------------------------------------------

/** The parameters of MultiHeadAttention(nEmbd, nHead, nEmbd / nHead) with its projection, as the library builds it. */
function libraryCount(nEmbd: number, nHead: number): number {
  const layer = new MultiHeadAttention(nEmbd, nHead, nEmbd / nHead);
  try {
    return layer.numParameters();
  } finally {
    layer.dispose();
  }
}

/**
 * 5.1: `count(nEmbd, nHead)` is the number of parameters of a multi-head attention layer with nHead heads of size
 * nEmbd / nHead (key, query, value without bias) and its projection back to nEmbd (with bias). Checked at gpt.py's
 * size (384, 6) and at the lesson's (32, 4).
 */
export function multiHeadParametersVerdict(count: (nEmbd: number, nHead: number) => number): Verdict {
  return verdict("Exercise 5.1 — a multi-head layer's parameters", () => {
    const findings: Finding[] = [];
    for (const [C, nh] of [[384, 6], [32, 4]]) {
      const got = count(C, nh);
      const expected = libraryCount(C, nh);
      findings.push(sameValue(`parameters at nEmbd ${C}, ${nh} heads of ${C / nh}`, got, expected));
      if (got !== expected) {
        const slip = got === 3 * C * C ? "that is the heads' key, query and value alone: the projection adds a Linear(C, C) with its bias"
          : got === 4 * C * C ? "the projection's bias (C numbers) is missing"
          : got === 3 * C * C + 3 * C + C * C + C ? "key, query and value have no bias in a head (Linear(C, headSize, bias = false))"
          : got === 3 * C * (C / nh) + C * C + C ? "that is one head: there are nHead of them, each with its own key, query and value"
          : undefined;
        if (slip) findings.push({ ok: false, line: slip });
      }
    }
    return findings;
  });
}

export function checkMultiHeadParameters(count: (nEmbd: number, nHead: number) => number): void {
  report(multiHeadParametersVerdict(count));
}

// ---- 5.2 -------------------------------------------------------------------------------------------------------

/** The tensors the shape exercise asks about, in the order they appear in a block. */
export const BLOCK_STAGES = ["x", "one head's q", "one head's affinities", "one head's output", "heads concatenated", "feed-forward hidden", "block output"] as const;
export type BlockStage = (typeof BLOCK_STAGES)[number];
export type BlockShapes = Record<BlockStage, number[]>;

/** The shapes measured by running a Block's pieces on x (B, T, C): what the learner's predictions are checked against. */
export function measuredBlockShapes(B: number, T: number, C: number, nHead: number): BlockShapes {
  const block = new Block(C, nHead).initWeights(new Rng(52));
  try {
    return tf.tidy(() => {
      const x = tf.randomNormal([B, T, C], 0, 1, "float32", 520) as tf.Tensor3D;
      const sa = block.sa as MultiHeadAttention;
      const n1 = block.ln1!.forward(x);
      const head = sa.heads[0];
      const q = head.query.forward(n1);
      const wei = causalSoftmax(scaledAffinities(q, head.key.forward(n1)));
      const concat = tf.concat(sa.heads.map((h) => h.forward(n1)), -1);
      const hidden = tf.relu(block.ffwd.fc.forward(n1));
      return {
        "x": x.shape, "one head's q": q.shape, "one head's affinities": wei.shape, "one head's output": head.forward(n1).shape,
        "heads concatenated": concat.shape, "feed-forward hidden": hidden.shape, "block output": block.forward(x).shape,
      };
    });
  } finally {
    block.dispose();
  }
}

/**
 * 5.2: `shapes(B, T, C, nHead)` predicts, without running anything, the shape of each stage of a block for an input
 * x (B, T, C). Checked at the lesson's distinct sizes (2, 5, 12, 3) and at (3, 7, 20, 4).
 */
export function blockShapesVerdict(shapes: (B: number, T: number, C: number, nHead: number) => BlockShapes): Verdict {
  return verdict("Exercise 5.2 — shapes through a block", () => {
    const findings: Finding[] = [];
    for (const [B, T, C, nh] of [[2, 5, 12, 3], [3, 7, 20, 4]]) {
      const predicted = shapes(B, T, C, nh);
      const measured = measuredBlockShapes(B, T, C, nh);
      for (const stage of BLOCK_STAGES) {
        findings.push(sameValue(`B ${B}, T ${T}, C ${C}, ${nh} heads: ${stage}`, predicted?.[stage], measured[stage]));
      }
    }
    return findings;
  });
}

export function checkBlockShapes(shapes: (B: number, T: number, C: number, nHead: number) => BlockShapes): void {
  report(blockShapesVerdict(shapes));
}

// ---- 5.3 -------------------------------------------------------------------------------------------------------

export type BlockForwardFn = (block: Block, x: tf.Tensor3D) => tf.Tensor3D;

/** 5.3: a block's forward from its parts (block.sa, block.ffwd, block.ln1, block.ln2), as Block.forward. */
export function blockForwardVerdict(fn: BlockForwardFn): Verdict {
  return verdict("Exercise 5.3 — a block's forward", () => {
    const block = new Block(12, 3).initWeights(new Rng(53), { std: 0.2 }); // weights large enough that every slip shows
    try {
      return tidyFindings(() => {
        const x = tf.randomNormal([2, 5, 12], 0, 1, "float32", 530) as tf.Tensor3D; // (B, T, C)
        const expected = block.forward(x);
        const got = fn(block, x);
        const findings: Finding[] = [closeTensor(`block output for x (${x.shape})`, got, expected, 1e-5)];
        if (!findings[0].ok && got instanceof tf.Tensor && got.shape.join() === expected.shape.join()) findings.push(diagnoseBlock(block, x, got));
        return findings;
      });
    } finally {
      block.dispose();
    }
  });
}

function diagnoseBlock(block: Block, x: tf.Tensor3D, got: tf.Tensor): Finding {
  return tf.tidy(() => {
    const { sa, ffwd } = block;
    const ln1 = block.ln1!;
    const ln2 = block.ln2!;
    const postNorm = (() => { const x1 = ln1.forward(x.add(sa.forward(x)) as tf.Tensor3D); return ln2.forward(x1.add(ffwd.forward(x1)) as tf.Tensor3D); })();
    const noResidual = ffwd.forward(ln2.forward(sa.forward(ln1.forward(x))));
    const noNorm = (() => { const x1 = x.add(sa.forward(x)) as tf.Tensor3D; return x1.add(ffwd.forward(x1)); })();
    const normalisedStream = (() => { const x1 = ln1.forward(x); const x2 = x1.add(sa.forward(x1)) as tf.Tensor3D; const n2 = ln2.forward(x2); return n2.add(ffwd.forward(n2)); })();
    const slips: [string, tf.Tensor][] = [
      ["this is post-norm (the 2017 paper's order): normalise what each branch reads, before it, and leave the sum alone", postNorm],
      ["no residual: add each branch's output to its input (x + sa(...)), do not replace x with it", noResidual],
      ["the LayerNorms are missing: sa reads ln1(x), ffwd reads ln2(x)", noNorm],
      ["the stream itself was normalised: add the branch to x, not to ln1(x)", normalisedStream],
    ];
    for (const [slip, out] of slips) if (largestDifference(out, got) < 1e-5) return { ok: false, line: slip };
    return { ok: false, line: "not one of the usual slips: write the two residual steps one at a time" };
  });
}

const largestDifference = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

export function checkBlockForward(fn: BlockForwardFn): void {
  report(blockForwardVerdict(fn));
}
