/**
 * Fused kernels: one native kernel (lib/native) for a chain of tfjs ops, forward and backward, where a profile of a
 * training step shows the chain's kernels cost more than their arithmetic. Each has its reference route, the ops the
 * lessons write, in lib/src/nn; these are only a faster way to the same maths, reached through ./fast: each function
 * here returns undefined where it does not run (another backend, the native kernels off, or the fused ones off).
 *
 * - fusedLinear: nn.Linear (reshape to rows, matmul with the weight transposed, add the bias, reshape back: about 7
 *   kernels forward and 9 backward) as one kernel each way. It calls the same native matmul and sums as the op-by-op
 *   route, in the same order: the same bits.
 * - fusedLayerNorm: LayerNorm over the last axis (tf.moments, sub, div, sqrt, mul, add: about 10 kernels forward and
 *   20 backward) as one kernel each way.
 * - fusedCausalSoftmax: the causal mask and the softmax (add −∞ above the diagonal, softmax), and its gradient.
 * - fusedCrossEntropy: F.cross_entropy (logSoftmax, oneHot, mul, sum, mean, and the check of the targets), and its
 *   gradient, softmax − onehot.
 * - fusedCausalAttention: CausalSelfAttention between c_attn and c_proj (split q, k, v; the heads' reshapes and
 *   transposes; q·kᵀ; the scale; the causal softmax; dropout on the weights; the weights times v; the transpose back:
 *   about 12 kernels forward and 20 backward) as one kernel each way. The backward pass recomputes the weights.
 *
 * fusedLinear gives the op-by-op route's bits, and fusedCausalAttention those of its op-by-op route with the fused
 * softmax. The others add in another order than the op-by-op route, so results agree within float32 rounding, not bit
 * for bit (the tests hold each to its reference route, and 50 seeded training steps to the unfused losses: within 1e-5
 * for 10 steps, 1e-4 for 50, argued in test/fused-kernels.test.ts; one kernel at a time, the same bits for fusedLinear
 * and fusedCausalAttention). GPT_FUSED=0 switches them off (the native matmul and the rest stay); `withFusedKernels(false, f)` in one process.
 */
import * as tf from "@tensorflow/tfjs";
import { envFlag, thenRestore } from "../env";
import { nativeKernels } from "./native-kernels";
import { floats, ints, registerWasmKernel, requireNative, run, WASM, type KernelFunc, type TensorInfo } from "./wasm-kernel";

const LAYER_NORM = "NativeLayerNorm";
const LAYER_NORM_GRAD = "NativeLayerNormGrad";
const CAUSAL_SOFTMAX = "NativeCausalSoftmax";
const CAUSAL_SOFTMAX_GRAD = "NativeCausalSoftmaxGrad";
const CROSS_ENTROPY = "NativeCrossEntropy";
const CROSS_ENTROPY_GRAD = "NativeCrossEntropyGrad";
const LINEAR = "NativeLinear";
const LINEAR_GRAD = "NativeLinearGrad";
const CAUSAL_ATTENTION = "NativeCausalAttention";
const CAUSAL_ATTENTION_GRAD = "NativeCausalAttentionGrad";

const lastAxis = (x: TensorInfo) => x.shape[x.shape.length - 1];
const rowsOf = (x: TensorInfo) => x.shape.slice(0, -1).reduce((a, b) => a * b, 1);

/** Whether the fused kernels are on: GPT_FUSED (read when first asked; a typo is an error), then useFusedKernels. */
let enabled: boolean | undefined;
const fusedOn = () => (enabled ??= envFlag("GPT_FUSED") !== false);

/** Switches the fused kernels off (false) or back on (true) for what runs next; returns the previous setting. */
export function useFusedKernels(on: boolean): boolean {
  const previous = fusedOn();
  enabled = on;
  return previous;
}

/** Runs `f` (or awaits it) with the fused kernels on or off, then restores the setting. */
export function withFusedKernels<T>(on: boolean, f: () => T): T {
  const previous = useFusedKernels(on);
  return thenRestore(f, () => useFusedKernels(previous));
}

/** Whether a fused kernel runs for this tensor now: wasm backend, native kernels on, fused kernels on, float32. */
function fusedFor(x: tf.Tensor, kernelName: string): boolean {
  return fusedOn() && x.dtype === "float32" && tf.getBackend() === WASM && nativeKernels() !== undefined && tf.getKernel(kernelName, WASM) !== undefined;
}

/** nn.Linear's x Wᵀ + b: x (..., in), weight (out, in), bias (out) or none -> (..., out). */
export function fusedLinear<T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias?: tf.Tensor1D): T | undefined {
  if (!fusedFor(x, LINEAR) || x.rank < 1 || x.size === 0) return undefined;
  return run<T>(LINEAR, bias ? { x, weight, bias } : { x, weight }, { hasBias: bias !== undefined });
}

/** LayerNorm of x (..., C) over its last axis with weight and bias (C): (x − mean) / √(var + eps) · weight + bias. */
export function fusedLayerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T | undefined {
  if (!fusedFor(x, LAYER_NORM) || x.rank < 1) return undefined;
  return run<T>(LAYER_NORM, { x, weight, bias }, { eps });
}

/** The decoder's softmax of scores (..., T, T): softmax over positions 0..t in row t, 0 above the diagonal. */
export function fusedCausalSoftmax<T extends tf.Tensor>(scores: T): T | undefined {
  if (!fusedFor(scores, CAUSAL_SOFTMAX) || scores.rank < 2) return undefined;
  return run<T>(CAUSAL_SOFTMAX, { x: scores });
}

/** F.cross_entropy of logits (N, V) and int32 targets (N): a scalar, NaN when a target is outside [0, V). */
export function fusedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar | undefined {
  if (!fusedFor(logits, CROSS_ENTROPY) || targets.dtype !== "int32") return undefined;
  return run<tf.Scalar>(CROSS_ENTROPY, { logits, targets });
}

/** Dropout on the attention weights, as fusedCausalAttention asks for it: undefined when there is none. */
export type AttentionDropout = () => { p: number; seed: number } | undefined;

/**
 * CausalSelfAttention's heads: qkv (B, T, 3C), c_attn's output ([q | k | v], head h at columns h·hs..), to y (B, T, C),
 * each head's output in its columns. `scale` multiplies the scores (headSize^-0.5); `dropout` is called only when this
 * route runs, and gives the probability and seed of the weights' mask (the mask Dropout would draw for them).
 */
export function fusedCausalAttention(qkv: tf.Tensor3D, nHead: number, scale: number, dropout: AttentionDropout): tf.Tensor3D | undefined {
  if (!fusedFor(qkv, CAUSAL_ATTENTION) || qkv.shape[2] % (3 * nHead) !== 0) return undefined;
  const { p, seed } = dropout() ?? { p: 0, seed: 0 };
  return run<tf.Tensor3D>(CAUSAL_ATTENTION, { qkv }, { nHead, scale: Math.fround(scale), p, seed });
}

/** B, T, nh, hs, scale, p, seed of a fused attention call. */
function attentionArgs(qkv: TensorInfo, attrs: Record<string, unknown>): [number, number, number, number, number, number, number] {
  const [B, T, C3] = qkv.shape;
  const nh = attrs.nHead as number;
  return [B, T, nh, C3 / 3 / nh, attrs.scale as number, attrs.p as number, attrs.seed as number];
}

const causalAttention: KernelFunc = ({ inputs: { qkv }, backend, attrs }) => {
  const [B, T, C3] = qkv.shape;
  const y = backend.makeOutput([B, T, C3 / 3], "float32");
  requireNative().causalAttention(floats(backend, qkv), floats(backend, y), ...attentionArgs(qkv, attrs));
  return y;
};

const causalAttentionGrad: KernelFunc = ({ inputs: { dy, qkv }, backend, attrs }) => {
  const dqkv = backend.makeOutput(qkv.shape, "float32");
  requireNative().causalAttentionGrad(floats(backend, dy), floats(backend, qkv), floats(backend, dqkv), ...attentionArgs(qkv, attrs));
  return dqkv;
};

/** Rows, in and out features of a Linear call, checked. */
function linearSizes(x: TensorInfo, weight: TensorInfo): [number, number, number] {
  const inFeatures = lastAxis(x);
  if (weight.shape.length !== 2 || weight.shape[1] !== inFeatures) {
    throw new Error(`Linear: the weight must be (out, ${inFeatures}) for an input of shape [${x.shape}], got [${weight.shape}].`);
  }
  return [rowsOf(x), inFeatures, weight.shape[0]];
}

const linear: KernelFunc = ({ inputs: { x, weight, bias }, backend }) => {
  const [N, inF, outF] = linearSizes(x, weight);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outF)) throw new Error(`Linear: the bias must have shape [${outF}], got [${bias.shape}].`);
  const y = backend.makeOutput([...x.shape.slice(0, -1), outF], "float32");
  // (N, in) @ (in, out), + b on every row as each tile is stored (the bits of a separate Add)
  requireNative().matmul(floats(backend, x), floats(backend, weight), floats(backend, y), 1, 1, N, inF, outF, 0, 1, bias ? floats(backend, bias) : undefined);
  return y;
};

/** dx, dW (and db) of a Linear from dy. */
const linearGrad: KernelFunc = ({ inputs: { dy, x, weight }, backend, attrs }) => {
  const [N, inF, outF] = linearSizes(x, weight);
  const outputs = [backend.makeOutput(x.shape, "float32"), backend.makeOutput(weight.shape, "float32")];
  if (attrs.hasBias) outputs.push(backend.makeOutput([outF], "float32"));
  const native = requireNative();
  native.matmul(floats(backend, dy), floats(backend, weight), floats(backend, outputs[0]), 1, 1, N, outF, inF, 0, 0); // dx = dy W
  // dW = dyᵀ x, and db = Σ rows of dy summed as the product reads dy (the bits of sumRows)
  native.matmul(floats(backend, dy), floats(backend, x), floats(backend, outputs[1]), 1, 1, outF, N, inF, 1, 0, undefined, 0, attrs.hasBias ? floats(backend, outputs[2]) : undefined);
  return outputs;
};

const layerNorm: KernelFunc = ({ inputs: { x, weight, bias }, backend, attrs }) => {
  const C = lastAxis(x);
  if (weight.shape.length !== 1 || weight.shape[0] !== C || bias.shape.length !== 1 || bias.shape[0] !== C) {
    throw new Error(`LayerNorm: weight and bias must have shape [${C}] for an input of shape [${x.shape}], got [${weight.shape}] and [${bias.shape}].`);
  }
  const y = backend.makeOutput(x.shape, "float32");
  requireNative().layerNorm(floats(backend, x), floats(backend, weight), floats(backend, bias), floats(backend, y), rowsOf(x), C, attrs.eps as number);
  return y;
};

const layerNormGrad: KernelFunc = ({ inputs: { dy, x, weight }, backend, attrs }) => {
  const C = lastAxis(x);
  const outputs = [backend.makeOutput(x.shape, "float32"), backend.makeOutput([C], "float32"), backend.makeOutput([C], "float32")];
  const [dx, dw, db] = outputs.map((t) => floats(backend, t));
  requireNative().layerNormGrad(floats(backend, dy), floats(backend, x), floats(backend, weight), dx, dw, db, rowsOf(x), C, attrs.eps as number);
  return outputs;
};

function checkSquare(x: TensorInfo): number {
  const T = lastAxis(x);
  if (x.shape[x.shape.length - 2] !== T) throw new Error(`causalSoftmax: scores must be (..., T, T), got shape [${x.shape}].`);
  return T;
}

const causalSoftmax: KernelFunc = ({ inputs: { x }, backend }) => {
  const T = checkSquare(x);
  const y = backend.makeOutput(x.shape, "float32");
  requireNative().causalSoftmax(floats(backend, x), floats(backend, y), rowsOf(x), T);
  return y;
};

const causalSoftmaxGrad: KernelFunc = ({ inputs: { dy, y }, backend }) => {
  const dx = backend.makeOutput(y.shape, "float32");
  requireNative().causalSoftmaxGrad(floats(backend, dy), floats(backend, y), floats(backend, dx), rowsOf(y), lastAxis(y));
  return dx;
};

function checkLogits(logits: TensorInfo, targets: TensorInfo): void {
  if (logits.shape.length !== 2 || targets.shape.length !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`crossEntropy: logits must be (N, V) and targets (N), got shapes [${logits.shape}] and [${targets.shape}].`);
  }
}

const crossEntropy: KernelFunc = ({ inputs: { logits, targets }, backend }) => {
  checkLogits(logits, targets);
  const loss = backend.makeOutput([], "float32");
  const [N, V] = logits.shape;
  const value = requireNative().crossEntropy(floats(backend, logits), ints(backend, targets), N, V);
  floats(backend, loss)[0] = value;
  return loss;
};

const crossEntropyGrad: KernelFunc = ({ inputs: { dy, logits, targets }, backend }) => {
  const dx = backend.makeOutput(logits.shape, "float32");
  const [N, V] = logits.shape;
  requireNative().crossEntropyGrad(floats(backend, logits), ints(backend, targets), floats(backend, dy)[0], floats(backend, dx), N, V);
  return dx;
};

let registered = false;

/** Registers the fused kernels and their gradients on the wasm backend (initBackend calls it, once). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: [string, KernelFunc][] = [
    [LAYER_NORM, layerNorm], [LAYER_NORM_GRAD, layerNormGrad], [CAUSAL_SOFTMAX, causalSoftmax],
    [CAUSAL_SOFTMAX_GRAD, causalSoftmaxGrad], [CROSS_ENTROPY, crossEntropy], [CROSS_ENTROPY_GRAD, crossEntropyGrad],
    [CAUSAL_ATTENTION, causalAttention], [CAUSAL_ATTENTION_GRAD, causalAttentionGrad], [LINEAR, linear], [LINEAR_GRAD, linearGrad],
  ];
  for (const [kernelName, kernelFunc] of kernels) registerWasmKernel(kernelName, kernelFunc);
  const many = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor[];
  // A gradient kernel with several outputs runs once, in the gradient function's body: its outputs are each handed to
  // an input, and any not asked for are disposed with the backward pass's other temporaries.
  tf.registerGradient({
    kernelName: LAYER_NORM,
    inputsToSave: ["x", "weight"],
    gradFunc: (dy, [x, weight], attrs) => {
      const [dx, dw, db] = many(LAYER_NORM_GRAD, { dy: dy as tf.Tensor, x, weight }, attrs as tf.NamedAttrMap);
      return { x: () => dx, weight: () => dw, bias: () => db };
    },
  });
  tf.registerGradient({
    kernelName: CAUSAL_SOFTMAX,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => run(CAUSAL_SOFTMAX_GRAD, { dy: dy as tf.Tensor, y }) }),
  });
  tf.registerGradient({
    kernelName: LINEAR,
    inputsToSave: ["x", "weight"],
    gradFunc: (dy, [x, weight], attrs) => {
      const [dx, dw, db] = many(LINEAR_GRAD, { dy: dy as tf.Tensor, x, weight }, attrs as tf.NamedAttrMap);
      const grads: Record<string, () => tf.Tensor> = { x: () => dx, weight: () => dw };
      if (db) grads.bias = () => db;
      return grads;
    },
  });
  tf.registerGradient({
    kernelName: CAUSAL_ATTENTION,
    inputsToSave: ["qkv"],
    gradFunc: (dy, [qkv], attrs) => ({ qkv: () => run(CAUSAL_ATTENTION_GRAD, { dy: dy as tf.Tensor, qkv }, attrs as tf.NamedAttrMap) }),
  });
  tf.registerGradient({
    kernelName: CROSS_ENTROPY,
    inputsToSave: ["logits", "targets"],
    gradFunc: (dy, [logits, targets]) => ({
      logits: () => run(CROSS_ENTROPY_GRAD, { dy: dy as tf.Tensor, logits, targets }),
      targets: () => tf.zerosLike(targets),
    }),
  });
}
