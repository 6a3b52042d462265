/** Running a check's tensor work in one scope: every tensor made inside (the learner's results too) is freed after. */
import * as tf from "@tensorflow/tfjs";
import type { Finding } from "./verdict";

/** tf.tidy for a function that returns findings (plain objects, which tf.tidy's types do not accept). */
export function tidyFindings(fn: () => Finding[]): Finding[] {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}
