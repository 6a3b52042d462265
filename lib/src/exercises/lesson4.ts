/**
 * Lesson 4's exercises: self-attention.
 *   4.1 the scaled affinities q·kᵀ·headSize^-0.5                   checkScaledAffinities(fn)
 *   4.2 the Head class: its forward, mask, softmax, weighted values  checkHead(Head)
 *   4.3 why the scale: the variance of q·kᵀ                        checkScaling(variance, scale)
 * Each compares with the library's own implementation (scaledAffinities, Head) on inputs the check draws.
 */
import * as tf from "@tensorflow/tfjs";
import { Head, causalSoftmax, scaledAffinities } from "../nn/attention";
import type { Linear } from "../nn/layers";
import type { Module } from "../nn/module";
import { Rng } from "../random";
import { tidyFindings } from "./tidy";
import { closeNumber, closeTensor, ExerciseTodo, report, verdict, type Finding, type Verdict } from "./verdict";

/** Distinct sizes, so that a transposed or mis-shaped answer shows: B 2, T 5 queries, T' 7 keys, head size 16. */
const [B, T, T2, HS] = [2, 5, 7, 16];

const largestDifference = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

// ---- 4.1 -------------------------------------------------------------------------------------------------------

export type AffinitiesFn = (q: tf.Tensor3D, k: tf.Tensor3D) => tf.Tensor3D;

/** 4.1: q (B, T, hs), k (B, T', hs) -> (B, T, T'), every query · every key, times hs^-0.5. */
export function checkScaledAffinities(fn: AffinitiesFn): Verdict {
  return report(verdict("Exercise 4.1 — scaled affinities", () => tidyFindings(() => {
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
  })));
}

// ---- 4.2 -------------------------------------------------------------------------------------------------------

/** What a head the learner writes has: the three layers under PyTorch's names, its size, and a forward pass. */
export interface HeadLike extends Module {
  readonly key: Linear;
  readonly query: Linear;
  readonly value: Linear;
  forward(x: tf.Tensor3D): tf.Tensor3D;
}

/** The learner's class: new Head(nEmbd, headSize). */
export type HeadClass = new (nEmbd: number, headSize: number) => HeadLike;

/** The check's sizes: C 12 and head size 4 differ from T 6 and B 2, so that shapes cannot be confused. */
const [HEAD_C, HEAD_SIZE, HEAD_T] = [12, 4, 6];

/**
 * 4.2: the learner's Head class, given the library's Head's weights by name (key.weight, query.weight, value.weight),
 * against lib.Head's forward: x (B, T, C) -> (B, T, headSize). A wrong output is matched against the usual slips.
 */
export function checkHead(LearnerHead: HeadClass): Verdict {
  return report(verdict("Exercise 4.2 — the Head class", () => {
    const library = new Head(HEAD_C, HEAD_SIZE).initWeights(new Rng(42));
    let mine: HeadLike | undefined;
    try {
      mine = new LearnerHead(HEAD_C, HEAD_SIZE);
      try {
        mine.loadStateDict(library.stateDict());
      } catch (err) {
        if (err instanceof ExerciseTodo) throw err;
        throw new Error(`the library's weights key.weight, query.weight and value.weight (${HEAD_SIZE}, ${HEAD_C}) do not load into your Head; ` +
          `register its layers as this.module("key", ...), this.module("query", ...), this.module("value", ...), each a Linear(nEmbd, headSize, { bias: false }). ${(err as Error).message}`);
      }
      const learner = mine;
      return tidyFindings(() => {
        const x = tf.randomNormal([B, HEAD_T, HEAD_C], 0, 1, "float32", 420) as tf.Tensor3D; // (B, T, C)
        const expected = library.forward(x); // (B, T, headSize)
        const got = learner.forward(x);
        const findings: Finding[] = [closeTensor(`your Head and lib.Head with the same weights, on x of shape (${x.shape.join(", ")})`, got, expected, 1e-5)];
        if (!findings[0].ok && got instanceof tf.Tensor && got.shape.join() === expected.shape.join()) findings.push(diagnoseHead(library, x, got));
        return findings;
      });
    } finally {
      library.dispose();
      mine?.dispose();
    }
  }));
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
      ["the scale is 1/headSize; it should be 1/√headSize", tf.matMul(causalSoftmax(raw.div(head.headSize)), v)],
      ["the weights average the values of the wrong tokens: softmax along the last axis (each row), and wei @ v, not weiᵀ @ v", tf.matMul(causalSoftmax(scaled).transpose([0, 2, 1]), v)],
      ["q and k swapped: the affinity of token t with token s is t's query · s's key, q @ kᵀ", tf.matMul(causalSoftmax(tf.matMul(k, q, false, true).mul(head.headSize ** -0.5)), v)],
    ];
    for (const [slip, out] of slips) if (out.shape.join() === got.shape.join() && largestDifference(out, got) < 1e-5) return { ok: false, line: slip };
    return { ok: false, line: "not one of the usual slips: compare your steps with the cells of version 4 above, one at a time" };
  });
}

// ---- 4.3 -------------------------------------------------------------------------------------------------------

/**
 * 4.3: for q and k of unit variance, the variance of an unscaled affinity as a function of headSize, and the factor
 * that brings it back to 1. Checked against a measurement at several head sizes and against the library's scale.
 */
export function checkScaling(variance: (headSize: number) => number, scale: (headSize: number) => number): Verdict {
  return report(verdict("Exercise 4.3 — why the scale", () => {
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
  }));
}
