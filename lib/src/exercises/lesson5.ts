/**
 * Lesson 5's exercises: the transformer block.
 *   5.1 count a multi-head layer's parameters at gpt.py's size   checkMultiHeadParameters(count)
 *   5.2 predict the shapes through a block                       checkBlockShapes(shapes)
 *   5.3 LayerNorm: batch norm's statistics over rows             checkLayerNorm(LayerNorm)
 *   5.4 the pre-norm block                                       checkBlock(Block)
 * Each compares with the library (a MultiHeadAttention's own count, the shapes a Block's pieces give, LayerNorm and
 * Block with the learner's weights loaded), names the usual slip when the answer is one, and returns its Verdict.
 */
import * as tf from "@tensorflow/tfjs";
import { causalSoftmax, scaledAffinities } from "../nn/attention";
import { Block } from "../nn/block";
import { LayerNorm } from "../nn/layer-norm";
import type { Module } from "../nn/module";
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

/** The usual wrong counts of a multi-head layer, and what each one leaves out or adds. */
function countSlip(got: number, C: number, nHead: number): string | undefined {
  if (got === 3 * C * C) return "that is the heads' key, query and value alone: the projection adds a Linear(C, C) with its bias";
  if (got === 4 * C * C) return "the projection's bias (C numbers) is missing";
  if (got === 3 * C * C + 3 * C + C * C + C) return "key, query and value have no bias in a head (Linear(C, headSize, bias = false))";
  if (got === 3 * C * (C / nHead) + C * C + C) return "that is one head: there are nHead of them, each with its own key, query and value";
  return undefined;
}

/**
 * 5.1: `count(nEmbd, nHead)` is the number of parameters of a multi-head attention layer with nHead heads of size
 * nEmbd / nHead (key, query, value without bias) and its projection back to nEmbd (with bias). Checked at gpt.py's
 * size (384, 6) and at the lesson's (32, 4).
 */
export function checkMultiHeadParameters(count: (nEmbd: number, nHead: number) => number): Verdict {
  return report(verdict("Exercise 5.1 — a multi-head layer's parameters", () => {
    const findings: Finding[] = [];
    for (const [C, nh] of [[384, 6], [32, 4]]) {
      const got = count(C, nh);
      findings.push(sameValue(`parameters at nEmbd ${C}, ${nh} heads of ${C / nh}`, got, libraryCount(C, nh)));
      const slip = findings[findings.length - 1].ok ? undefined : countSlip(got, C, nh);
      if (slip) findings.push({ ok: false, line: slip });
    }
    return findings;
  }));
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
export function checkBlockShapes(shapes: (B: number, T: number, C: number, nHead: number) => BlockShapes): Verdict {
  return report(verdict("Exercise 5.2 — shapes through a block", () => {
    const findings: Finding[] = [];
    for (const [B, T, C, nh] of [[2, 5, 12, 3], [3, 7, 20, 4]]) {
      const predicted = shapes(B, T, C, nh);
      const measured = measuredBlockShapes(B, T, C, nh);
      for (const stage of BLOCK_STAGES) {
        findings.push(sameValue(`B ${B}, T ${T}, C ${C}, ${nh} heads: ${stage}`, predicted?.[stage], measured[stage]));
      }
    }
    return findings;
  }));
}

// ---- 5.3 -------------------------------------------------------------------------------------------------------

/** A layer that maps a tensor to one of the same shape, built from its width: the learner's LayerNorm. */
export type NormClass = new (nEmbd: number) => Module & { forward(x: tf.Tensor): tf.Tensor };

const NORM_WIDTH = 12;

/** Normalises x by `axis` (every axis when undefined) the way a slip would, then applies the gain and shift. */
function normalised(x: tf.Tensor, ln: LayerNorm, { axis, eps = ln.eps, epsInside = true, unbiased = false, affine = true }:
  { axis?: number; eps?: number; epsInside?: boolean; unbiased?: boolean; affine?: boolean }): tf.Tensor {
  const { mean, variance } = tf.moments(x, axis, true);
  const n = axis === undefined ? x.size : x.shape[axis < 0 ? x.rank + axis : axis];
  const v = unbiased ? variance.mul(n / (n - 1)) : variance;
  const xhat = x.sub(mean).div(epsInside ? v.add(eps).sqrt() : v.sqrt().add(eps));
  return affine ? xhat.mul(ln.weight).add(ln.bias) : xhat;
}

/** What a wrong LayerNorm output is, among the usual slips, on x (B, T, C). */
function diagnoseNorm(ln: LayerNorm, x: tf.Tensor3D, got: tf.Tensor): Finding {
  return tf.tidy(() => {
    const slips: [string, tf.Tensor][] = [
      ["that normalises each column over the batch, as batch norm does: LayerNorm takes each row's mean and variance, over the last dimension", normalised(x, ln, { axis: 0 })],
      ["that normalises over the positions (axis 1 of (B, T, C)): LayerNorm normalises each token's own vector, the last axis (-1)", normalised(x, ln, { axis: 1 })],
      ["one mean and variance for the whole tensor: LayerNorm takes them for each row on its own", normalised(x, ln, {})],
      ["the variance is divided by C − 1: LayerNorm's (as nn.LayerNorm's) divides by C", normalised(x, ln, { axis: -1, unbiased: true })],
      ["eps is missing: divide by √(variance + eps), so that a row with (almost) no spread stays finite", normalised(x, ln, { axis: -1, eps: 0 })],
      ["eps belongs inside the square root: √(variance + eps)", normalised(x, ln, { axis: -1, epsInside: false })],
      ["the learned gain and shift are missing: multiply by this.weight, then add this.bias", normalised(x, ln, { axis: -1, affine: false })],
    ];
    for (const [slip, out] of slips) if (got.shape.join() === out.shape.join() && maxAbs(out, got) < 1e-4) return { ok: false, line: slip };
    return { ok: false, line: "not one of the usual slips: take the mean and variance of each row, then (x − mean) / √(variance + eps)" };
  });
}

/** Inputs far from normalised: rows of mean 3 and spread 5, and in (B, T, C) one row with almost no spread (eps shows there). */
function normInputs(): tf.Tensor[] {
  const rows = tf.randomNormal([4, NORM_WIDTH], 3, 5, "float32", 531);
  const flat = tf.randomNormal([1, 1, NORM_WIDTH], 0, 1e-3, "float32", 532).add(0.5);
  const x = tf.concat([flat, tf.randomNormal([9, 1, NORM_WIDTH], 3, 5, "float32", 533)], 0).reshape([2, 5, NORM_WIDTH]);
  return [rows, x];
}

/**
 * 5.3: `LayerNormClass` (the learner's LayerNorm: weight and bias, forward normalising each row) against the library's
 * LayerNorm with the same (random) gain and shift, on a (N, C) and a (B, T, C) input; a wrong answer is matched
 * against the usual slips (batch norm's axis, the positions' axis, C − 1, eps, no gain and shift).
 */
export function checkLayerNorm(LayerNormClass: NormClass): Verdict {
  return report(verdict("Exercise 5.3 — LayerNorm", () => {
    const ours = new LayerNormClass(NORM_WIDTH);
    const theirs = new LayerNorm(NORM_WIDTH);
    try {
      return tidyFindings(() => {
        const weights = { weight: tf.randomNormal([NORM_WIDTH], 1, 0.5, "float32", 534), bias: tf.randomNormal([NORM_WIDTH], 0, 0.5, "float32", 535) };
        ours.loadStateDict(weights);
        theirs.loadStateDict(weights);
        const findings: Finding[] = [];
        for (const x of normInputs()) {
          const got = ours.forward(x);
          findings.push(closeTensor(`LayerNorm of x (${x.shape.join(", ")})`, got, theirs.forward(x), 1e-4));
          if (!findings[findings.length - 1].ok && x.rank === 3 && got instanceof tf.Tensor && !got.isDisposed) findings.push(diagnoseNorm(theirs, x as tf.Tensor3D, got));
        }
        return findings;
      });
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  }));
}

// ---- 5.4 -------------------------------------------------------------------------------------------------------

/** A block: x (B, T, C) -> (B, T, C), built from its width and number of heads: the learner's Block. */
export type BlockClass = new (nEmbd: number, nHead: number) => Module & { forward(x: tf.Tensor3D): tf.Tensor3D };

/**
 * 5.4: `BlockClass` (the learner's pre-norm Block: sa, ffwd, ln1, ln2) against the library's Block with the learner's
 * weights loaded by name, LayerNorm gains and shifts drawn at random so that every slip shows. A wrong answer is
 * matched against the usual slips (post-norm, no residual, no LayerNorm, a normalised stream, ln1 and ln2 swapped).
 */
export function checkBlock(BlockClass: BlockClass): Verdict {
  return report(verdict("Exercise 5.4 — the pre-norm block", () => {
    const ours = new BlockClass(12, 3);
    const theirs = new Block(12, 3);
    try {
      ours.initWeights(new Rng(54), { std: 0.2 }); // weights large enough that every slip shows
      tf.tidy(() => ours.namedParameters().forEach(([name, p], i) => {
        if (/^ln\d\./.test(name)) p.assign(tf.randomNormal(p.shape, name.endsWith("weight") ? 1 : 0, 0.5, "float32", 540 + i)); // LayerNorms that do something
      }));
      theirs.loadStateDict(ours.stateDict());
      return tidyFindings(() => {
        const x = tf.randomNormal([2, 5, 12], 0.5, 2, "float32", 541) as tf.Tensor3D; // (B, T, C), rows far from normalised
        const expected = theirs.forward(x);
        const got = ours.forward(x);
        const findings: Finding[] = [closeTensor(`block output for x (${x.shape.join(", ")})`, got, expected, 1e-4)];
        if (!findings[0].ok && got instanceof tf.Tensor && !got.isDisposed && got.shape.join() === expected.shape.join()) findings.push(diagnoseBlock(theirs, x, got));
        return findings;
      });
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  }));
}

/** What a wrong block output is, among the usual slips, computed with the library block's own parts. */
function diagnoseBlock(block: Block, x: tf.Tensor3D, got: tf.Tensor): Finding {
  return tf.tidy(() => {
    const { sa, ffwd } = block;
    const [ln1, ln2] = [block.ln1!, block.ln2!];
    const twoSteps = (first: (t: tf.Tensor3D) => tf.Tensor3D, second: (t: tf.Tensor3D) => tf.Tensor3D) => {
      const x1 = x.add(sa.forward(first(x))) as tf.Tensor3D;
      return x1.add(ffwd.forward(second(x1)));
    };
    const postNorm = (() => { const x1 = ln1.forward(x.add(sa.forward(x)) as tf.Tensor3D); return ln2.forward(x1.add(ffwd.forward(x1)) as tf.Tensor3D); })();
    const noResidual = ffwd.forward(ln2.forward(sa.forward(ln1.forward(x))));
    const normalisedStream = (() => { const n1 = ln1.forward(x); const x2 = n1.add(sa.forward(n1)) as tf.Tensor3D; const n2 = ln2.forward(x2); return n2.add(ffwd.forward(n2)); })();
    const slips: [string, tf.Tensor][] = [
      ["this is post-norm (the 2017 paper's order): normalise what each branch reads, before it, and leave the sum alone", postNorm],
      ["no residual: add each branch's output to its input (x + sa(...)), do not replace x with it", noResidual],
      ["the LayerNorms are missing: sa reads ln1(x), ffwd reads ln2(x)", twoSteps((t) => t, (t) => t)],
      ["the stream itself was normalised: add the branch to x, not to ln1(x)", normalisedStream],
      ["ln1 and ln2 are swapped: ln1 comes before attention, ln2 before the feed-forward layer", twoSteps((t) => ln2.forward(t), (t) => ln1.forward(t))],
      ["both branches read ln1: the feed-forward layer reads ln2 of the stream after attention", twoSteps((t) => ln1.forward(t), (t) => ln1.forward(t))],
    ];
    for (const [slip, out] of slips) if (maxAbs(out, got) < 1e-4) return { ok: false, line: slip };
    return { ok: false, line: "not one of the usual slips: write the two residual steps one at a time" };
  });
}

/** The largest |a − b|, read synchronously as closeTensor reads. */
const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
