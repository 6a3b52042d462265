/**
 * Lesson 4's exercises: self-attention.
 *   4.1 the scaled affinities q·kᵀ·headSize^-0.5          checkScaledAffinities(fn)
 *   4.2 a head's forward: mask, softmax, weighted values  checkHeadForward(fn)
 *   4.3 why the scale: the variance of q·kᵀ               checkScaling(variance, scale)
 * Each compares with the library's own implementation (scaledAffinities, Head.forward) on inputs the check draws.
 */
import * as tf from "@tensorflow/tfjs";
import { Head, causalSoftmax, scaledAffinities } from "../nn/attention";
import { Rng } from "../random";
import { tidyFindings } from "./tidy";
import { closeNumber, closeTensor, report, verdict, type Finding, type Verdict } from "./verdict";

/** Distinct sizes, so that a transposed or mis-shaped answer shows: B 2, T 5 queries, T' 7 keys, head size 16. */
const [B, T, T2, HS] = [2, 5, 7, 16];

const largestDifference = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

// ---- 4.1 -------------------------------------------------------------------------------------------------------

export type AffinitiesFn = (q: tf.Tensor3D, k: tf.Tensor3D) => tf.Tensor3D;

/** 4.1: q (B, T, hs), k (B, T', hs) -> (B, T, T'), every query · every key, times hs^-0.5. */
export function scaledAffinitiesVerdict(fn: AffinitiesFn): Verdict {
  return verdict("Exercise 4.1 — scaled affinities", () => tidyFindings(() => {
    const rng = new Rng(41);
    const q = tf.randomNormal([B, T, HS], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
    const k = tf.randomNormal([B, T2, HS], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
    const expected = scaledAffinities(q, k); // (B, T, T')
    const got = fn(q, k);
    const findings: Finding[] = [closeTensor(`affinities of q (${q.shape}) and k (${k.shape})`, got, expected, 1e-5)];
    if (!findings[0].ok && got instanceof tf.Tensor && got.shape.join() === expected.shape.join()) {
      const unscaled = tf.matMul(q, k, false, true);
      if (largestDifference(got, unscaled) < 1e-4) findings.push({ ok: false, line: `these are q·kᵀ unscaled: ${HS ** 0.5} = √headSize times too large` });
      else if (largestDifference(got, unscaled.div(HS)) < 1e-5) findings.push({ ok: false, line: "divided by headSize; the scale is 1/√headSize" });
    }
    return findings;
  }));
}

export function checkScaledAffinities(fn: AffinitiesFn): void {
  report(scaledAffinitiesVerdict(fn));
}

// ---- 4.2 -------------------------------------------------------------------------------------------------------

export type HeadForwardFn = (head: Head, x: tf.Tensor3D) => tf.Tensor3D;

/** 4.2: a head's forward from its key, query and value layers: x (B, T, C) -> (B, T, headSize), as Head.forward. */
export function headForwardVerdict(fn: HeadForwardFn): Verdict {
  return verdict("Exercise 4.2 — a head's forward", () => {
    const head = new Head(12, 4).initWeights(new Rng(42)); // C 12, head size 4: not T, so shapes cannot be confused
    try {
      return tidyFindings(() => {
        const x = tf.randomNormal([B, 6, 12], 0, 1, "float32", 420) as tf.Tensor3D; // (B, T = 6, C = 12)
        const expected = head.forward(x); // (B, 6, 4)
        const got = fn(head, x);
        const findings: Finding[] = [closeTensor(`head output for x (${x.shape})`, got, expected, 1e-5)];
        if (!findings[0].ok && got instanceof tf.Tensor && got.shape.join() === expected.shape.join()) {
          findings.push(diagnoseHead(head, x, got));
        }
        return findings;
      });
    } finally {
      head.dispose();
    }
  });
}

/** Which usual slip the wrong output matches: no mask, no scale, softmax over the wrong axis, x instead of v. */
function diagnoseHead(head: Head, x: tf.Tensor3D, got: tf.Tensor): Finding {
  return tf.tidy(() => {
    const k = head.key.forward(x);
    const q = head.query.forward(x);
    const v = head.value.forward(x);
    const raw = tf.matMul(q, k, false, true); // (B, T, T)
    const scaled = raw.mul(head.headSize ** -0.5);
    const slips: [string, tf.Tensor][] = [
      ["no mask: every token also reads its future — put −∞ above the diagonal before the softmax", tf.matMul(tf.softmax(scaled, -1), v)],
      ["no scale: the affinities were not multiplied by headSize^-0.5", tf.matMul(causalSoftmax(raw), v)],
      ["the weights average the values of the wrong tokens: softmax along the last axis (each row), and wei @ v, not wei @ xᵀ or vᵀ", tf.matMul(causalSoftmax(scaled).transpose([0, 2, 1]), v)],
    ];
    for (const [slip, out] of slips) if (out.shape.join() === got.shape.join() && largestDifference(out, got) < 1e-5) return { ok: false, line: slip };
    return { ok: false, line: "not one of the usual slips: compare your steps with the cells above, one at a time" };
  });
}

export function checkHeadForward(fn: HeadForwardFn): void {
  report(headForwardVerdict(fn));
}

// ---- 4.3 -------------------------------------------------------------------------------------------------------

/**
 * 4.3: for q and k of unit variance, the variance of an unscaled affinity as a function of headSize, and the factor
 * that brings it back to 1. Checked against a measurement at several head sizes and against the library's scale.
 */
export function scalingVerdict(variance: (headSize: number) => number, scale: (headSize: number) => number): Verdict {
  return verdict("Exercise 4.3 — why the scale", () => {
    const rng = new Rng(43);
    return [4, 16, 64].flatMap((hs) => {
      const [measured, measuredScaled] = tf.tidy(() => {
        const q = tf.randomNormal([8, 32, hs], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
        const k = tf.randomNormal([8, 32, hs], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
        return [tf.moments(tf.matMul(q, k, false, true)).variance.dataSync()[0], tf.moments(scaledAffinities(q, k)).variance.dataSync()[0]];
      });
      const predicted = variance(hs);
      const factor = scale(hs);
      const scaledVariance = typeof factor === "number" ? measured * factor * factor : NaN;
      return [
        closeNumber(`variance of q·kᵀ at headSize ${hs} (measured ${measured.toFixed(2)})`, predicted, hs, 1e-6),
        closeNumber(`headSize ${hs}: the measured variance times your scale² (${typeof factor === "number" ? Number(factor.toPrecision(3)) : String(factor)}²), against the library's scaled affinities`, scaledVariance, measuredScaled, 0.01 * measuredScaled),
      ];
    });
  });
}

export function checkScaling(variance: (headSize: number) => number, scale: (headSize: number) => number): void {
  report(scalingVerdict(variance, scale));
}
