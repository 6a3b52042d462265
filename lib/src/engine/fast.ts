/**
 * The one seam between the reference maths and the fast kernels. lib/src/nn and lib/src/train are the maths the lessons
 * write, op by op; where a faster route to the same numbers exists, they take it in one line:
 *
 *     return fast.linear(x, this.weight, this.bias) ?? referenceMaths();
 *
 * Each function here returns undefined where no fast route applies, and the caller then runs its reference maths. The
 * choice is made here, not by the caller: on the wasm backend with the native CPU kernels, the fused kernels
 * (./fused-kernels) and the native routes (./native-routes, ./native-adamw); on the webgpu backend, the GPU's own
 * dropout (./webgpu); anywhere else (the cpu backend, GPT_NATIVE=0, GPT_FUSED=0 for the fused ones), nothing.
 * docs/engines.md states the rule: nothing outside lib/src/engine knows which kernels run.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { AdamWEntry, AdamWHyper } from "../train/types";
import { fusedCausalAttention, fusedCausalSoftmax, fusedCrossEntropy, fusedLayerNorm, fusedLinear } from "./fused-kernels";
import { nativeAdamW } from "./native-adamw";
import { nativeKernels } from "./native-kernels";
import { nativeDropout } from "./native-routes";
import { peakHeapBytes, WASM_HEAP_LIMIT } from "./wasm-repairs";
import { gpuDropout } from "./webgpu";

/** nn.Linear: x (..., in) Wᵀ + b -> (..., out). */
export const linear = <T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias?: tf.Tensor1D): T | undefined => fusedLinear(x, weight, bias);

/** nn.LayerNorm over the last axis. */
export const layerNorm = <T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T | undefined =>
  fusedLayerNorm(x, weight, bias, eps);

/** The decoder's masked softmax of scores (..., T, T). */
export const causalSoftmax = <T extends tf.Tensor>(scores: T): T | undefined => fusedCausalSoftmax(scores);

/** F.cross_entropy of logits (N, V) and int32 targets (N). */
export const crossEntropy = (logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar | undefined => fusedCrossEntropy(logits, targets);

/** What the attention kernel needs of a Dropout layer: whether it drops now, with what probability, from which stream. */
export interface DropoutLike {
  readonly p: number;
  readonly training: boolean;
  readonly randomStream?: Rng;
}

/**
 * CausalSelfAttention's heads from c_attn's output: qkv (B, T, 3C) -> (B, T, C), dropout on the weights drawn as
 * `dropout.forward` would draw its mask (the same stream, the same seed, the same mask).
 */
export function causalAttention(qkv: tf.Tensor3D, nHead: number, scale: number, dropout: DropoutLike): tf.Tensor3D | undefined {
  const drops = dropout.training && dropout.p > 0;
  const stream = dropout.randomStream;
  if (drops && !stream) return undefined; // the reference route's Dropout says what is missing
  return fusedCausalAttention(qkv, nHead, scale, () => (drops && stream ? { p: dropout.p, seed: stream.seed() } : undefined));
}

/** Dropout with its mask drawn from `seed` by a hash of each element's index: in the GPU's shader, or natively. */
export function dropout<T extends tf.Tensor>(x: T, p: number, seed: number): T | undefined {
  if (tf.getBackend() === "webgpu" && x.dtype === "float32") return gpuDropout(x, p, seed);
  return nativeDropout(x, p, seed);
}

/** AdamW's update of `entries` in place, in one native call; returns the entries it left for the reference maths. */
export function adamw(entries: AdamWEntry[], hyper: AdamWHyper): AdamWEntry[] | undefined {
  const native = nativeKernels();
  return native && tf.getBackend() === "wasm" ? nativeAdamW(native, entries, hyper) : undefined;
}

/** The most memory a training step's tensors may take on this engine, in bytes; undefined where no limit is known. */
export function memoryLimit(): number | undefined {
  return tf.getBackend() === "wasm" ? WASM_HEAP_LIMIT : undefined;
}

/**
 * The most memory `f`'s allocations held at once on this engine, in bytes (and what it threw, if it did); undefined
 * where the engine cannot count (any but wasm).
 */
export function peakMemory(f: () => void): { peakBytes: number; error?: unknown } | undefined {
  return tf.getBackend() === "wasm" ? peakHeapBytes(f) : undefined;
}
