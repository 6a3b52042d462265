/**
 * AdamW's step as one native call for every parameter, on the wasm backend with the native kernels. The kernel rounds
 * as the element-wise ops of the reference maths (train/adamw.ts) do: the same numbers. It writes the new p, m and v
 * over the old ones, as torch.optim.AdamW does, instead of making new tensors and assigning them (a dozen tfjs calls a
 * parameter); so it takes only an entry whose memory nothing else shares: a tensor made from a parameter by tf.clone,
 * reshape or tf.variable shares it, keeps its values, and that parameter takes the reference route.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { AdamWEntry, AdamWHyper } from "../train/types";
import type { NativeKernels } from "./native-kernels";
import { floats } from "./wasm-kernel";

/**
 * Whether an update may be written in place: float32 tensors of one size on this backend, and p, m and v each the
 * only tensor on its memory.
 */
function ownsItsMemory(backend: BackendWasm, { p, g, m, v }: AdamWEntry): boolean {
  if ([p, g, m, v].some((x) => x.isDisposed || x.dtype !== "float32" || x.size !== p.size || backend.refCount(x.dataId) === 0)) return false;
  return [p, m, v].every((x) => backend.refCount(x.dataId) === 1);
}

/** Updates the entries it can in place, in one native call; returns the others, for the reference maths. */
export function nativeAdamW(native: NativeKernels, entries: AdamWEntry[], { lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt }: AdamWHyper): AdamWEntry[] {
  const backend = tf.backend() as BackendWasm;
  // Memory written (each p, m, v) must be read by no other array of the call: a parameter listed twice, or a
  // gradient that is another parameter, takes the reference route.
  const written = new Map<object, number>();
  for (const { p, m, v } of entries) for (const x of [p, m, v]) written.set(x.dataId, (written.get(x.dataId) ?? 0) + 1);
  const arrays: Float32Array[] = [];
  const rest: AdamWEntry[] = [];
  for (const entry of entries) {
    const alone = [entry.p, entry.m, entry.v].every((x) => written.get(x.dataId) === 1) && !written.has(entry.g.dataId);
    if (alone && ownsItsMemory(backend, entry)) arrays.push(...[entry.p, entry.g, entry.m, entry.v].map((x) => floats(backend, x)));
    else rest.push(entry);
  }
  if (arrays.length > 0) native.adamw(arrays, Float32Array.of(beta1, 1 - beta1, beta2, 1 - beta2, bias2Sqrt, eps, 1 - lr * weightDecay, stepSize));
  return rest;
}
