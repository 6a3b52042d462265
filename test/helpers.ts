/** Shared set-up for the unit tests: one backend for the whole run, and the dataset from ../shared when present. */
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, type BackendName } from "@build-gpt/lib";

const shared = path.resolve(__dirname, "..", "..", "..", "shared", "data", "tinyshakespeare", "input.txt");
if (!process.env.TINYSHAKESPEARE_PATH && existsSync(shared)) process.env.TINYSHAKESPEARE_PATH = shared;

export async function backend(name: BackendName = "wasm"): Promise<void> {
  const info = await initBackend(name);
  if (info.name !== name) throw new Error(`wanted the ${name} backend, got ${info.name}`);
}

export function assertClose(actual: number, expected: number, tolerance: number, what = "value"): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
  }
}

/** The attention weights a layer computes in one forward pass on x, read through its hook; the caller disposes them. */
export function attentionOf<W extends tf.Tensor>(layer: { onAttention(hook: (w: W) => void): () => void; forward(x: tf.Tensor3D): tf.Tensor }, x: tf.Tensor3D): W {
  let seen: W | undefined;
  const remove = layer.onAttention((w) => {
    seen = tf.keep(w.clone());
  });
  try {
    tf.tidy(() => {
      layer.forward(x);
    });
  } finally {
    remove();
  }
  if (!seen) throw new Error("the layer's forward pass called no attention hook");
  return seen;
}

/** The largest absolute difference between two tensors of the same shape (a synchronous read: cpu and wasm). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}
