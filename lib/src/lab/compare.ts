/**
 * The lessons' proof that what the learner wrote is the library's: the same weights in, the same numbers out.
 * One call loads the learner's weights into the library's module by name (as PyTorch's load_state_dict), runs both on
 * the same inputs, prints the largest difference, and disposes what it made.
 */
import * as tf from "@tensorflow/tfjs";
import type { Module } from "../nn/module";

/** Anything with a forward pass over tensors: a layer, a block, a model. */
export interface Forward extends Module {
  forward(...inputs: never[]): tf.Tensor;
}

/** Differences this small are float32 rounding (a sum taken in another order), not another computation. */
const ROUNDING = 1e-5;

/** The largest |a − b| of two tensors or number arrays of the same shape, read asynchronously. */
export async function largestDifference(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): Promise<number> {
  const values = async (t: tf.Tensor | ArrayLike<number>) => (t instanceof tf.Tensor ? await t.data() : t);
  if (a instanceof tf.Tensor && b instanceof tf.Tensor && a.shape.join() !== b.shape.join()) {
    throw new Error(`the two have different shapes: (${a.shape.join(", ")}) and (${b.shape.join(", ")})`);
  }
  const [x, y] = [await values(a), await values(b)];
  if (x.length !== y.length) throw new Error(`the two have different sizes: ${x.length} and ${y.length}`);
  let most = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i]));
    if (!(d <= most)) most = d; // NaN wins: a NaN on one side is a difference
  }
  return most;
}

/** "0 (the same numbers)", "2.4e-7 (the same, up to float32 rounding)", or a difference that is a difference. */
export function verdictOf(difference: number): string {
  if (difference === 0) return "0 (the same numbers)";
  if (difference <= ROUNDING) return `${difference.toExponential(1)} (the same, up to float32 rounding)`;
  return `${difference.toPrecision(3)}: NOT the same computation`;
}

/** Prints "what: largest difference …" for two results and returns the difference. */
export async function sameNumbers(what: string, ours: tf.Tensor | ArrayLike<number>, library: tf.Tensor | ArrayLike<number>): Promise<number> {
  const difference = await largestDifference(ours, library);
  console.log(`${what}, ours vs the library's: largest difference ${verdictOf(difference)}`);
  return difference;
}

/**
 * Loads `ours`'s weights into `library` (same parameter names), runs both in evaluation mode on `inputs`, prints the
 * largest difference of their outputs and returns it. `library` is disposed afterwards; `ours` and the inputs are the
 * caller's.
 */
export async function compareWithLibrary<M extends Forward>(what: string, ours: M, library: Forward, ...inputs: Parameters<M["forward"]>): Promise<number> {
  const modes = [ours.training, library.training];
  const outputs: tf.Tensor[] = [];
  try {
    library.loadStateDict(ours.stateDict());
    ours.eval();
    library.eval();
    outputs.push(tf.tidy(() => (ours.forward as (...x: unknown[]) => tf.Tensor)(...inputs)));
    outputs.push(tf.tidy(() => (library.forward as (...x: unknown[]) => tf.Tensor)(...inputs)));
    return await sameNumbers(what, outputs[0], outputs[1]);
  } finally {
    if (modes[0]) ours.train();
    tf.dispose(outputs);
    library.dispose();
  }
}
