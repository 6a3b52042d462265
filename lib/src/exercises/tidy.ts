import * as tf from "@tensorflow/tfjs";
import type { Finding } from "./verdict";

/** tf.tidy for a check's findings (plain objects): every tensor made inside is disposed, also when it throws. */
export function tidyFindings(fn: () => Finding[]): Finding[] {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as Finding[];
}
