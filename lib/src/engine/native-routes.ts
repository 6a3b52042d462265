/**
 * TensorFlow.js kernels that run on the native CPU kernels (./native-kernels) in place of the WebAssembly backend's,
 * when those load and are on; each falls back to the backend's own kernel for what it does not take, and each gives
 * the same numbers (the same bits, apart from the matmul's fused multiply-adds):
 *
 * - BatchMatMul, transposed or batched as it comes, straight from and into the heap (no transposes, no slicing).
 * - Sum over the leading axes of a float32 tensor (a bias gradient), without the transpose the wasm kernel makes first.
 * - Transpose (when the last axis stays last), SplitV and Concat (float32): strided copies. The wasm kernels take a
 *   general slow path for nanoGPT's split of q, k, v and its head transposes.
 * - Add and Multiply of float32 tensors of one shape, or with one operand repeated along the leading axes (a bias, a
 *   scalar); Relu and Step: the wasm kernels take a general broadcasting path, about 1 ns an element. Relu's gradient,
 *   tfjs's dy · step(x) (two kernels, two passes over memory), is one native pass.
 * - Dropout (NativeDropout): its mask drawn natively from a seed, where tf.dropout fills it in JavaScript
 *   (tf.randomUniform, about 27M numbers a second).
 */
import * as tf from "@tensorflow/tfjs";
import { nativeKernels, type NativeKernels } from "./native-kernels";
import { matmulBatches } from "./wasm-repairs";
import { floats, registerWasmKernel, requireNative, reroute, run, size, WASM, type KernelFunc, type TensorInfo } from "./wasm-kernel";

/** A reroute: the native kernels' route where `native` returns an output, else the original kernel. */
function nativeOr(route: (native: NativeKernels, args: Parameters<KernelFunc>[0]) => TensorInfo | TensorInfo[] | undefined) {
  return (original: KernelFunc): KernelFunc => (args) => {
    const native = nativeKernels();
    return (native && route(native, args)) || original(args);
  };
}

const batchMatMul = nativeOr((native, { inputs: { a, b }, backend, attrs }) => {
  const { batchA, batchB, plain } = matmulBatches(a, b);
  if (!plain) return undefined;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const [m, k, n] = [transposeA ? ca : ra, transposeA ? ra : ca, transposeB ? rb : cb];
  const out = backend.makeOutput(tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)).concat([m, n]), "float32");
  native.matmul(floats(backend, a), floats(backend, b), floats(backend, out), batchA, batchB, m, k, n, Number(transposeA), Number(transposeB));
  return out;
});

const sum = nativeOr((native, { inputs: { x }, backend, attrs }) => {
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((i, j) => i - j);
  const leading = axes.length > 0 && axes.every((axis, i) => axis === i);
  if (x.dtype !== "float32" || !leading || axes.length === x.shape.length) return undefined;
  const kept = x.shape.slice(axes.length);
  const out = backend.makeOutput(attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept, "float32");
  native.sumRows(floats(backend, x), floats(backend, out), size(x.shape.slice(0, axes.length)), size(kept));
  return out;
});

const transpose = nativeOr((native, { inputs: { x }, backend, attrs }) => {
  const perm = attrs.perm as number[];
  const rank = x.shape.length;
  if (x.dtype !== "float32" || rank < 2 || rank > 6 || perm[rank - 1] !== rank - 1) return undefined;
  const out = backend.makeOutput(perm.map((d) => x.shape[d]), "float32");
  native.transpose(floats(backend, x), floats(backend, out), Int32Array.from(x.shape), Int32Array.from(perm));
  return out;
});

/** Each piece of a float32 split along `axis`: a strided copy of its columns of the (outer, inner) view. */
const splitV = nativeOr((native, { inputs: { x }, backend, attrs }) => {
  if (x.dtype !== "float32") return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
  const outer = size(x.shape.slice(0, axis));
  const unit = size(x.shape.slice(axis + 1)); // floats per step along the axis
  const stride = x.shape[axis] * unit;
  let offset = 0;
  return sizes.map((s) => {
    const out = backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), "float32");
    native.copyRows(floats(backend, x), offset, stride, floats(backend, out), 0, s * unit, outer, s * unit);
    offset += s * unit;
    return out;
  });
});

/** A float32 concatenation along `axis`: each input a strided copy into its columns of the (outer, inner) view. */
const concat = nativeOr((native, { inputs, backend, attrs }) => {
  const xs = inputs as unknown as TensorInfo[];
  if (xs.length < 2 || xs.some((x) => x.dtype !== "float32")) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, xs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(xs.map((x) => x.shape), axis);
  const outShape = tf.backend_util.computeOutShape(xs.map((x) => x.shape), axis);
  const out = backend.makeOutput(outShape, "float32");
  const outer = size(outShape.slice(0, axis));
  const stride = size(outShape.slice(axis));
  let offset = 0;
  for (const x of xs) {
    const width = size(x.shape.slice(axis));
    if (width > 0) native.copyRows(floats(backend, x), 0, width, floats(backend, out), offset, stride, outer, width);
    offset += width;
  }
  return out;
});

/** Whether `short`'s shape, without its leading 1s, ends `long`'s: then it repeats along long's leading axes. */
function repeatsAlong(short: number[], long: number[]): boolean {
  let first = 0;
  while (first < short.length && short[first] === 1) first++;
  const core = short.slice(first);
  return core.length <= long.length && core.every((d, i) => d === long[long.length - core.length + i]);
}

/** Add or Multiply (op 0, 1) of float32 tensors where one operand has the output's shape. */
const binary = (op: 0 | 1) => nativeOr((native, { inputs: { a, b }, backend }) => {
  const [big, small] = size(a.shape) >= size(b.shape) ? [a, b] : [b, a];
  if (a.dtype !== "float32" || b.dtype !== "float32" || size(small.shape) === 0 || small.shape.length > big.shape.length || !repeatsAlong(small.shape, big.shape)) return undefined;
  const out = backend.makeOutput(big.shape, "float32");
  native.binary(op, floats(backend, a), floats(backend, b), floats(backend, out));
  return out;
});

/** Relu or Step (op 0, 1) of a float32 tensor. */
const unary = (op: 0 | 1) => nativeOr((native, { inputs: { x }, backend, attrs }) => {
  if (x.dtype !== "float32" || size(x.shape) === 0) return undefined;
  const out = backend.makeOutput(x.shape, "float32");
  native.unary(op, floats(backend, x), floats(backend, out), op === 1 ? (attrs.alpha as number) : 0);
  return out;
});

const RELU_GRAD = "NativeReluGrad";
const DROPOUT = "NativeDropout";

const reluGrad: KernelFunc = ({ inputs: { dy, x }, backend }) => {
  const dx = backend.makeOutput(x.shape, "float32");
  requireNative().reluGrad(floats(backend, dy), floats(backend, x), floats(backend, dx));
  return dx;
};

const dropoutKernel: KernelFunc = ({ inputs: { x }, backend, attrs }) => {
  const out = backend.makeOutput(x.shape, "float32");
  requireNative().dropout(floats(backend, x), floats(backend, out), attrs.p as number, attrs.seed as number);
  return out;
};

/** Whether the native routes run for tensors of this dtype now. */
const nativeFor = (...xs: tf.Tensor[]) => nativeKernels() !== undefined && tf.getBackend() === WASM && xs.every((x) => x.dtype === "float32");

/**
 * Dropout on the native kernels, where they run: each element zeroed with probability p, decided by a hash of `seed`
 * and its index (the GPU route's hash, ./webgpu: the same seed gives the same mask there), the rest scaled by 1/(1−p).
 * Differentiable: the backward pass applies the same mask to dy. Undefined where it does not run.
 */
export function nativeDropout<T extends tf.Tensor>(x: T, p: number, seed: number): T | undefined {
  return nativeFor(x) && tf.getKernel(DROPOUT, WASM) ? run<T>(DROPOUT, { x }, { p, seed: seed >>> 0 }) : undefined;
}

let registered = false;

/** Registers the native routes on the wasm backend (after repairWasmBackend, whose BatchMatMul they fall back to). */
export function registerNativeRoutes(): void {
  if (registered) return;
  reroute("BatchMatMul", batchMatMul);
  reroute("Sum", sum);
  reroute("Transpose", transpose);
  reroute("SplitV", splitV);
  reroute("Concat", concat);
  reroute("Add", binary(0));
  reroute("Multiply", binary(1));
  reroute("Relu", unary(0));
  reroute("Step", unary(1));
  registerWasmKernel(RELU_GRAD, reluGrad);
  registerWasmKernel(DROPOUT, dropoutKernel);
  // Relu's gradient on every backend: tfjs's own (dy · step(x)), or the same numbers in one native pass.
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({
      x: () => nativeFor(x, dy as tf.Tensor) && x.size > 0 ? run(RELU_GRAD, { dy: dy as tf.Tensor, x }) : tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), "float32")),
    }),
  });
  tf.registerGradient({ kernelName: DROPOUT, gradFunc: (dy, _saved, attrs) => ({ x: () => run(DROPOUT, { x: dy as tf.Tensor }, attrs as tf.NamedAttrMap) }) });
  registered = true;
}
