/** Shared set-up for the unit tests: one backend for the whole run (the dataset: TINYSHAKESPEARE_PATH, or a download). */
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { AdamW, CharTokenizer, GPTLanguageModel, Rng, getBatch, initBackend, loadTinyShakespeare, trainStep, trainValSplit, type BackendName, type GPTConfig, type NativeIsa, type NativeKernels } from "@build-gpt/lib/internal";


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

/**
 * Trains a GPT (batched attention) on tiny Shakespeare from seed 1337 for `steps` steps of `batch` sequences with
 * AdamW at lr 1e-3; returns each step's loss. `afterStep` is called after each step (e.g. to count tensors).
 */
export async function seededLosses(config: Omit<GPTConfig, "vocabSize">, batch: number, steps: number, afterStep?: () => void, beforeTraining?: (model: GPTLanguageModel) => void): Promise<number[]> {
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const { train } = trainValSplit(tokenizer.encode(text));
  const rng = new Rng(1337);
  const model = new GPTLanguageModel({ vocabSize: tokenizer.vocabSize, attention: "batched", ...config }, rng);
  beforeTraining?.(model);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const { x, y } = getBatch(train, batch, config.blockSize, rng);
      try {
        losses.push(await trainStep(model, optimizer, x, y));
      } finally {
        tf.dispose([x, y]);
      }
      afterStep?.();
    }
  } finally {
    model.dispose();
    optimizer.dispose();
  }
  return losses;
}

/**
 * The native kernels' instruction sets to test: GPT_NATIVE_ISA's alone where it names one (GPT_NATIVE_ISA=portable:
 * the x86 paths off, as on ARM64), else every one this CPU runs, best first.
 */
export function testedIsas(kernels: NativeKernels): NativeIsa[] {
  const requested = (process.env.GPT_NATIVE_ISA ?? "").trim().toLowerCase().replace("-", "");
  if (requested === "avx512" || requested === "avx2" || requested === "portable") return [requested];
  return [...(kernels.avx512 ? ["avx512" as const] : []), ...(kernels.avx2 ? ["avx2" as const] : []), "portable"];
}

/** isa()'s name of an instruction set. */
export const ISA_NAMES: Record<NativeIsa, string> = { avx512: "AVX-512", avx2: "AVX2", portable: "portable" };
