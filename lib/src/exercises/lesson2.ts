/**
 * Lesson 2's exercises: the loss of a uniform guess (2.1), cross-entropy by hand (2.2), the probabilities generate()
 * samples from at a temperature (2.3), one training step (2.4). Each is compared with the library's crossEntropy,
 * nextTokenProbs and trainStep.
 */
import * as tf from "@tensorflow/tfjs";
import { BigramLanguageModel } from "../models/bigram";
import { nextTokenProbs } from "../models/generate";
import type { LanguageModel } from "../models/language-model";
import { crossEntropy } from "../nn/loss";
import { Rng } from "../random";
import { AdamW } from "../train/adamw";
import { trainStep } from "../train/step";
import { tidyFindings } from "./tidy";
import { closeNumber, closeTensor, report, verdict, verdictAsync, type Finding, type Verdict } from "./verdict";

/** The library's loss when every logit is equal: the model gives each of the vocabSize tokens the same probability. */
function uniformCrossEntropy(vocabSize: number): number {
  return tf.tidy(() => crossEntropy(tf.zeros([vocabSize, vocabSize]) as tf.Tensor2D, tf.range(0, vocabSize, 1, "int32") as tf.Tensor1D).dataSync()[0]);
}

/** Exercise 2.1: the learner's uniformLoss(vocabSize) against crossEntropy of all-equal logits, for 65 and 10 tokens. */
export function checkUniformLoss(uniformLoss: (vocabSize: number) => number, vocabSize = 65): Verdict {
  return report(verdict("Exercise 2.1 — the loss of a uniform guess", () =>
    [vocabSize, 10].map((v) => closeNumber(`uniformLoss(${v})`, uniformLoss(v), uniformCrossEntropy(v), 1e-4)),
  ));
}

/** Exercise 2.2: the learner's crossEntropy(logits (N, V), targets (N)) against the library's, on random logits. */
export function checkCrossEntropy(byHand: (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Scalar): Verdict {
  return report(verdict("Exercise 2.2 — cross-entropy by hand", () => tidyFindings(() => {
    const rng = new Rng(22);
    const findings: Finding[] = [];
    for (const [N, V, scale] of [[6, 5, 1], [32, 65, 3]]) {
      const logits = tf.randomNormal([N, V], 0, scale, "float32", rng.seed()) as tf.Tensor2D;
      const targets = tf.tensor1d(Array.from({ length: N }, () => rng.int(V)), "int32");
      findings.push(closeTensor(`loss of ${N} rows of ${V} logits`, byHand(logits, targets), crossEntropy(logits, targets), 1e-4));
    }
    return findings;
  })));
}

/**
 * Exercise 2.3: the learner's probsAt(logits, temperature) — the distribution generate() samples from — against the
 * library's nextTokenProbs on a small bigram model, at temperatures 1, 0.5 and 2.
 */
export async function checkTemperature(probsAt: (logits: number[], temperature: number) => number[]): Promise<Verdict> {
  return report(await verdictAsync("Exercise 2.3 — sampling at a temperature", async () => {
    const model = new BigramLanguageModel(8, new Rng(23));
    try {
      const row = model.tokenEmbeddingTable.weight.slice([3, 0], [1, 8]); // token 3's row: its next-token logits
      const logits = Array.from(await row.data());
      row.dispose();
      const findings: Finding[] = [];
      for (const temperature of [1, 0.5, 2]) {
        const expected = tf.tensor1d(await nextTokenProbs(model, [3], temperature));
        try {
          const got = probsAt(logits, temperature);
          if (!Array.isArray(got) && !ArrayBuffer.isView(got)) {
            findings.push({ ok: false, line: `temperature ${temperature}: got ${typeof got}, expected an array of ${logits.length} probabilities` });
            continue;
          }
          const mine = tf.tensor1d(Array.from(got as ArrayLike<number>));
          try {
            findings.push(closeTensor(`probabilities at temperature ${temperature}`, mine, expected, 1e-5));
          } finally {
            mine.dispose();
          }
        } finally {
          expected.dispose();
        }
      }
      return findings;
    } finally {
      model.dispose();
    }
  }));
}

/** The learner's training step: one batch's loss, its gradients, the optimizer's update; resolves to the loss. */
export type TrainingStep = (model: LanguageModel, optimizer: AdamW, x: tf.Tensor2D, y: tf.Tensor2D) => Promise<number>;

/** A batch of random token ids: x (B, T) and y (B, T), int32. */
function randomBatch(rng: Rng, batchSize: number, blockSize: number, vocabSize: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const ids = () => tf.tensor2d(Array.from({ length: batchSize }, () => Array.from({ length: blockSize }, () => rng.int(vocabSize))), undefined, "int32");
  return { x: ids(), y: ids() };
}

/** The loss a step returned: a number, or a line that says what came back instead. */
function returnedLoss(what: string, loss: unknown, expected: number): Finding {
  if (loss instanceof tf.Tensor) return { ok: false, line: `${what}: got a tensor, expected a number (read the loss out of its tensor)` };
  return closeNumber(what, loss, expected, 1e-5);
}

/** The weights after a step against the library's; when they are wrong, whether they moved at all. */
function weightsAfter(what: string, weights: tf.Tensor, expected: tf.Tensor, before: tf.Tensor): Finding {
  return tidyFindings(() => {
    const finding = closeTensor(what, weights, expected, 1e-6);
    if (finding.ok || weights.isDisposed) return [finding];
    const unchanged = weights.sub(before).abs().max().dataSync()[0] === 0;
    return [unchanged ? { ok: false, line: `${what}: unchanged: the update was not applied` } : finding];
  })[0];
}

/**
 * Runs the learner's step and counts the tensors it leaves behind; the check then frees them (a scope around the
 * awaited step: nothing else makes tensors meanwhile).
 */
async function counted(step: () => Promise<number>): Promise<{ loss: number; left: number }> {
  const count = tf.memory().numTensors;
  tf.engine().startScope();
  try {
    const loss = await step();
    return { loss, left: tf.memory().numTensors - count };
  } finally {
    tf.engine().endScope();
  }
}

/**
 * Exercise 2.4: the learner's trainingStep against the library's trainStep. Two bigram models start from the same
 * weights, each with its own AdamW; both take the same two steps on the same batches (the second shows that AdamW's
 * state carries over). The losses they return and the weights after each step must agree, and the learner's step must
 * leave no tensor behind.
 */
export async function checkTrainingStep(trainingStep: TrainingStep, vocabSize = 65): Promise<Verdict> {
  return report(await verdictAsync("Exercise 2.4 — one training step", async () => {
    const ours = new BigramLanguageModel(vocabSize, new Rng(24));
    const theirs = new BigramLanguageModel(vocabSize, new Rng(0)).loadStateDict(ours.stateDict());
    const [ourOptimizer, theirOptimizer] = [new AdamW(ours.parameters(), { lr: 1e-2 }), new AdamW(theirs.parameters(), { lr: 1e-2 })];
    const rng = new Rng(2024);
    const findings: Finding[] = [];
    try {
      for (const step of [1, 2]) {
        const { x, y } = randomBatch(rng, 4, 8, vocabSize);
        const before = ours.tokenEmbeddingTable.weight.clone();
        try {
          const { loss, left } = await counted(() => trainingStep(ours, ourOptimizer, x, y));
          const expected = await trainStep(theirs, theirOptimizer, x, y);
          findings.push(returnedLoss(`step ${step}: the loss it returns`, loss, expected));
          findings.push(weightsAfter(`step ${step}: the weights after it`, ours.tokenEmbeddingTable.weight, theirs.tokenEmbeddingTable.weight, before));
          findings.push(left <= 0
            ? { ok: true, line: `step ${step}: no tensor left behind — right` }
            : { ok: false, line: `step ${step}: ${left} tensor${left === 1 ? "" : "s"} left behind, each step more: dispose what the step makes` });
        } finally {
          tf.dispose([x, y, before]);
        }
        if (findings.some((f) => !f.ok)) break; // step 2 from other weights would only repeat the difference
      }
      return findings;
    } finally {
      [ours, theirs, ourOptimizer, theirOptimizer].forEach((m) => m.dispose());
    }
  }));
}
