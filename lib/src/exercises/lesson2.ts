/**
 * Lesson 2's exercises: the loss of a uniform guess (2.1), cross-entropy by hand (2.2), the probabilities generate()
 * samples from at a temperature (2.3). Each is compared with the library's crossEntropy and nextTokenProbs.
 */
import * as tf from "@tensorflow/tfjs";
import { BigramLanguageModel } from "../models/bigram";
import { nextTokenProbs } from "../models/generate";
import { crossEntropy } from "../nn/loss";
import { Rng } from "../random";
import { tidyFindings } from "./tidy";
import { closeNumber, closeTensor, report, verdict, verdictAsync, type Finding, type Verdict } from "./verdict";

/** The library's loss when every logit is equal: the model gives each of the vocabSize tokens the same probability. */
function uniformCrossEntropy(vocabSize: number): number {
  return tf.tidy(() => crossEntropy(tf.zeros([vocabSize, vocabSize]) as tf.Tensor2D, tf.range(0, vocabSize, 1, "int32") as tf.Tensor1D).dataSync()[0]);
}

/** Exercise 2.1: the learner's uniformLoss(vocabSize) against crossEntropy of all-equal logits, for 65 and 10 tokens. */
export function uniformLossVerdict(uniformLoss: (vocabSize: number) => number, vocabSize = 65): Verdict {
  return verdict("Exercise 2.1 — the loss of a uniform guess", () =>
    [vocabSize, 10].map((v) => closeNumber(`uniformLoss(${v})`, uniformLoss(v), uniformCrossEntropy(v), 1e-4)),
  );
}

export function checkUniformLoss(uniformLoss: (vocabSize: number) => number, vocabSize = 65): void {
  report(uniformLossVerdict(uniformLoss, vocabSize));
}

/** Exercise 2.2: the learner's crossEntropy(logits (N, V), targets (N)) against the library's, on random logits. */
export function crossEntropyVerdict(byHand: (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Scalar): Verdict {
  return verdict("Exercise 2.2 — cross-entropy by hand", () => tidyFindings(() => {
    const rng = new Rng(22);
    const findings: Finding[] = [];
    for (const [N, V, scale] of [[6, 5, 1], [32, 65, 3]]) {
      const logits = tf.randomNormal([N, V], 0, scale, "float32", rng.seed()) as tf.Tensor2D;
      const targets = tf.tensor1d(Array.from({ length: N }, () => rng.int(V)), "int32");
      findings.push(closeTensor(`loss of ${N} rows of ${V} logits`, byHand(logits, targets), crossEntropy(logits, targets), 1e-4));
    }
    return findings;
  }));
}

export function checkCrossEntropy(byHand: (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Scalar): void {
  report(crossEntropyVerdict(byHand));
}

/**
 * Exercise 2.3: the learner's probsAt(logits, temperature) — the distribution generate() samples from — against the
 * library's nextTokenProbs on a small bigram model, at temperatures 1, 0.5 and 2.
 */
export async function temperatureVerdict(probsAt: (logits: number[], temperature: number) => number[]): Promise<Verdict> {
  return verdictAsync("Exercise 2.3 — sampling at a temperature", async () => {
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
  });
}

export async function checkTemperature(probsAt: (logits: number[], temperature: number) => number[]): Promise<void> {
  report(await temperatureVerdict(probsAt));
}
