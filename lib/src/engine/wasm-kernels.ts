/**
 * Four changes to TensorFlow.js's WebAssembly backend, so that training on it is correct and not needlessly slow: two
 * repairs (1, 2) and two faster routes (3, onto the native CPU kernels when they load, ./native-kernels; and 4).
 *
 * 1. BatchMatMul. The wasm kernel takes its fast (XNNPACK) path only when neither operand is transposed and the
 *    batch is 1; anything else runs a scalar loop about 20x slower. Every matmul gradient asks for a transposed
 *    operand, and every attention matmul is batched. We route those calls onto the fast path: transpose first (a fast
 *    kernel), fold a batch into rows when the right operand is shared, and split a large batched product into
 *    batch-1 products. The maths is unchanged; only the route differs.
 * 2. UnsortedSegmentSum, the gradient of `gather` (an embedding lookup), is not registered at all. We add it.
 * 3. With the native kernels, BatchMatMul (transposed or batched, as it comes) runs on them directly; a Sum over the
 *    leading axes (a bias gradient) skips the transpose the wasm kernel makes first; and AdamW's step updates every
 *    parameter in place in one native call (fusedAdamWStep), instead of a dozen element-wise ops a parameter.
 * 4. GatherV2 along axis 0 (an embedding lookup) copies rows directly: the wasm kernel is slow at it.
 * 5. With the native kernels, Dropout's mask is drawn natively (nativeDropout, kernel NativeDropout): tf.dropout fills
 *    its mask in JavaScript (tf.randomUniform), about 27M numbers a second.
 * 6. Identity, and Cast to the dtype a tensor already has, share the input's memory (as the CPU backend does) instead
 *    of copying it. tfjs clones every tensor it keeps for the backward pass: about 350 copies a training step.
 * 7. With the native kernels, Transpose (when the last axis stays last), SplitV and Concat (float32) are strided
 *    copies on them: the wasm kernels take a general slow path for nanoGPT's split of q, k, v and its head transposes.
 * 8. With the native kernels, float32 Add and Multiply (of one shape, or with one operand repeated along the leading
 *    axes: a bias, a scalar), Relu and Step run natively: the wasm kernels take a general broadcasting path, about 1 ns
 *    an element. One IEEE operation an element, as there: the same bits. Relu's gradient, tfjs's dy · step(x) (a Step
 *    and a Multiply, two passes over memory), is one native pass, NativeReluGrad, with the same bits.
 * The fused kernels (Linear, causal attention, LayerNorm, the causal softmax, cross-entropy) are in ./fused-kernels
 * and registered here too.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { registerFusedKernels } from "./fused-kernels";
import { nativeKernels } from "./native-kernels";

type TensorInfo = tf.TensorInfo;
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: Record<string, unknown> }) => TensorInfo;

const BACKEND = "wasm";
/** Below this many multiply-adds per batch slice, the scalar loop is cheaper than one call per slice. */
const MIN_SLICE_MACS = 16 * 16 * 16;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function kernelConfig(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, BACKEND);
  if (!config) throw new Error(`tfjs-backend-wasm has no ${name} kernel: is @tensorflow/tfjs-backend-wasm 4.22.0 installed?`);
  return config;
}

function kernel(name: string): KernelFunc {
  return kernelConfig(name).kernelFunc as unknown as KernelFunc;
}

/** The original BatchMatMul, kept so the fast path can be called with operands it accepts. */
let wasmBatchMatMul: KernelFunc | undefined;

function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return kernel("Reshape")({ inputs: { x }, backend, attrs: { shape } });
}

/** (..., m, k) -> (batch, k, m), through the fast Transpose kernel. */
function transposeLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const [m, k] = x.shape.slice(-2);
  const x3 = reshape(backend, x, [size(x.shape.slice(0, -2)), m, k]);
  const out = kernel("Transpose")({ inputs: { x: x3 }, backend, attrs: { perm: [0, 2, 1] } });
  backend.disposeData(x3.dataId);
  return out;
}

/** a (batch, m, k) @ b (batch, k, n), one fast batch-1 product per slice, copied into one output (batch, m, n). */
function slicedMatMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo, batch: number): TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const out = backend.makeOutput([batch, m, n], "float32");
  for (let i = 0; i < batch; i++) {
    const ai = backend.makeOutput([1, m, k], "float32");
    const bi = backend.makeOutput([1, k, n], "float32");
    // Views into the wasm heap are taken afresh after every allocation: the heap may have grown and moved.
    backend.typedArrayFromHeap(ai).set(backend.typedArrayFromHeap(a).subarray(i * m * k, (i + 1) * m * k));
    backend.typedArrayFromHeap(bi).set(backend.typedArrayFromHeap(b).subarray(i * k * n, (i + 1) * k * n));
    const oi = wasmBatchMatMul!({ inputs: { a: ai, b: bi }, backend, attrs: { transposeA: false, transposeB: false } });
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(oi), i * m * n);
    for (const t of [ai, bi, oi]) backend.disposeData(t.dataId);
  }
  return out;
}

const floats = (backend: BackendWasm, x: TensorInfo) => backend.typedArrayFromHeap(x) as Float32Array;

/** The whole product on the native kernels: no transposes, no slicing, straight from and into the wasm heap. */
function nativeMatMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, batchA: number, batchB: number): TensorInfo {
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const [m, k, n] = [transposeA ? ca : ra, transposeA ? ra : ca, transposeB ? rb : cb];
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)).concat([m, n]);
  const out = backend.makeOutput(outShape, "float32");
  // Heap views are taken after the allocation: it may have grown (and moved) the heap.
  nativeKernels()!.matmul(floats(backend, a), floats(backend, b), floats(backend, out), batchA, batchB, m, k, n, Number(transposeA), Number(transposeB));
  return out;
}

const batchMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = size(batchShapeA);
  const batchB = size(batchShapeB);
  const sameBatch = batchShapeA.length === batchShapeB.length && batchShapeA.every((d, i) => d === batchShapeB[i]);
  if (a.dtype !== "float32" || b.dtype !== "float32" || !(sameBatch || batchA === 1 || batchB === 1)) {
    return wasmBatchMatMul!({ inputs, backend, attrs }); // general broadcasting: the original handles it
  }
  if (nativeKernels()) return nativeMatMul(backend, a, b, transposeA, transposeB, batchA, batchB);
  const temporaries: TensorInfo[] = [];
  const to3d = (x: TensorInfo, transpose: boolean, batch: number) => {
    const [r, c] = x.shape.slice(-2);
    const t = transpose ? transposeLastTwo(backend, x) : reshape(backend, x, [batch, r, c]);
    temporaries.push(t);
    return t;
  };
  const A = to3d(a, transposeA, batchA); // (batchA, m, k)
  const B = to3d(b, transposeB, batchB); // (batchB, k, n)
  const [m, k] = A.shape.slice(-2);
  const n = B.shape[2];
  const outShape = tf.backend_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB).concat([m, n]);
  const fast = (x: TensorInfo, y: TensorInfo) => wasmBatchMatMul!({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } });

  let out: TensorInfo;
  if (batchB === 1 && batchA > 1) {
    // A shared right operand (a Linear layer on (B, T, C)): fold the batch into rows, one fast product.
    const a2 = reshape(backend, A, [1, batchA * m, k]);
    temporaries.push(a2);
    out = fast(a2, B);
  } else if (batchA === batchB && batchA > 1 && m * k * n >= MIN_SLICE_MACS) {
    out = slicedMatMul(backend, A, B, batchA);
  } else {
    out = fast(A, B); // batch 1 (the fast path), or small batched products (the scalar loop, cheaper than slicing)
  }
  for (const t of temporaries) backend.disposeData(t.dataId);
  const result = reshape(backend, out, outShape);
  backend.disposeData(out.dataId);
  return result;
};

/** out[segmentIds[i], ...] += x[i, ...]: the gradient of gather along axis 0. */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  const inner = size(x.shape.slice(segmentIds.shape.length));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const o = backend.typedArrayFromHeap(out);
  const xs = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
};

/** The original Sum and GatherV2, for the cases the faster routes do not cover. */
let wasmSum: KernelFunc | undefined;
let wasmGather: KernelFunc | undefined;

/** Sum over leading axes 0..p-1 of a float32 tensor runs on the native kernels; anything else on the original. */
const sum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((i, j) => i - j);
  const leading = axes.length > 0 && axes.every((axis, i) => axis === i);
  if (!nativeKernels() || x.dtype !== "float32" || !leading || axes.length === x.shape.length) {
    return wasmSum!({ inputs, backend, attrs });
  }
  const kept = x.shape.slice(axes.length);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  const out = backend.makeOutput(shape, "float32");
  nativeKernels()!.sumRows(floats(backend, x), floats(backend, out), size(x.shape.slice(0, axes.length)), size(kept));
  return out;
};

/** x[indices] along axis 0 with no batch dimensions (an embedding lookup): one row copy per index. */
const gather: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, indices } = inputs;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  if (axis !== 0 || (attrs.batchDims as number) !== 0 || indices.dtype !== "int32") return wasmGather!({ inputs, backend, attrs });
  const rows = x.shape[0];
  const width = size(x.shape.slice(1));
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const ids = backend.typedArrayFromHeap(indices);
  const table = backend.typedArrayFromHeap(x);
  const o = backend.typedArrayFromHeap(out);
  // Both lie in the engine's one memory: each row is a copyWithin of its bytes there (no view a row, the same bits).
  const heap = new Uint8Array(o.buffer);
  const rowBytes = width * o.BYTES_PER_ELEMENT;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < rows)) {
      backend.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
    }
    const from = table.byteOffset + id * rowBytes;
    heap.copyWithin(o.byteOffset + i * rowBytes, from, from + rowBytes);
  }
  return out;
};

/** The input itself, its memory shared (a reference counted once more): tensors are never written after they are made. */
function share(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let wasmIdentity: KernelFunc | undefined;
let wasmCast: KernelFunc | undefined;
let wasmTranspose: KernelFunc | undefined;
let wasmSplitV: KernelFunc | undefined;
let wasmConcat: KernelFunc | undefined;

const identity: KernelFunc = ({ inputs, backend, attrs }) =>
  inputs.x.dtype === "string" ? wasmIdentity!({ inputs, backend, attrs }) : share(backend, inputs.x);

const cast: KernelFunc = ({ inputs, backend, attrs }) =>
  inputs.x.dtype === attrs.dtype && inputs.x.dtype !== "string" ? share(backend, inputs.x) : wasmCast!({ inputs, backend, attrs });

/** Transpose of a float32 tensor whose last axis stays last: one contiguous run per output row, natively. */
const transpose: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  const perm = attrs.perm as number[];
  const rank = x.shape.length;
  if (!nativeKernels() || x.dtype !== "float32" || rank < 2 || rank > 6 || perm[rank - 1] !== rank - 1) return wasmTranspose!({ inputs, backend, attrs });
  const out = backend.makeOutput(perm.map((d) => x.shape[d]), "float32");
  nativeKernels()!.transpose(floats(backend, x), floats(backend, out), Int32Array.from(x.shape), Int32Array.from(perm));
  return out;
};

/** Each piece of a float32 split along `axis`: a strided copy of its columns of the (outer, inner) view. */
const splitV: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (!nativeKernels() || x.dtype !== "float32") return wasmSplitV!({ inputs, backend, attrs });
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
  const outer = size(x.shape.slice(0, axis));
  const unit = size(x.shape.slice(axis + 1)); // floats per step along the axis
  const stride = x.shape[axis] * unit;
  let offset = 0;
  return sizes.map((s) => {
    const out = backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), "float32");
    nativeKernels()!.copyRows(floats(backend, x), offset, stride, floats(backend, out), 0, s * unit, outer, s * unit);
    offset += s * unit;
    return out;
  }) as unknown as TensorInfo;
};

/** A float32 concatenation along `axis`: each input a strided copy into its columns of the (outer, inner) view. */
const concat: KernelFunc = ({ inputs, backend, attrs }) => {
  const xs = inputs as unknown as TensorInfo[];
  if (!nativeKernels() || xs.length < 2 || xs.some((x) => x.dtype !== "float32")) return wasmConcat!({ inputs, backend, attrs });
  const axis = tf.util.parseAxisParam(attrs.axis as number, xs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(xs.map((x) => x.shape), axis);
  const outShape = tf.backend_util.computeOutShape(xs.map((x) => x.shape), axis);
  const out = backend.makeOutput(outShape, "float32");
  const outer = size(outShape.slice(0, axis));
  const stride = size(outShape.slice(axis));
  let offset = 0;
  for (const x of xs) {
    const width = size(x.shape.slice(axis));
    if (width > 0) nativeKernels()!.copyRows(floats(backend, x), 0, width, floats(backend, out), offset, stride, outer, width);
    offset += width;
  }
  return out;
};

/** Whether `short`'s shape, without its leading 1s, ends `long`'s: then it repeats along long's leading axes. */
function repeatsAlong(short: number[], long: number[]): boolean {
  let first = 0;
  while (first < short.length && short[first] === 1) first++;
  const core = short.slice(first);
  return core.length <= long.length && core.every((d, i) => d === long[long.length - core.length + i]);
}

/** Add or Multiply (op 0, 1) of float32 tensors natively where one operand has the output's shape; else the original. */
function binaryKernel(op: 0 | 1, original: () => KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs;
    const [big, small] = size(a.shape) >= size(b.shape) ? [a, b] : [b, a];
    if (!nativeKernels() || a.dtype !== "float32" || b.dtype !== "float32" || size(small.shape) === 0 || small.shape.length > big.shape.length || !repeatsAlong(small.shape, big.shape)) {
      return original()({ inputs, backend, attrs });
    }
    const out = backend.makeOutput(big.shape, "float32");
    nativeKernels()!.binary(op, floats(backend, a), floats(backend, b), floats(backend, out));
    return out;
  };
}

/** Relu or Step (op 0, 1) of a float32 tensor natively; else the original. */
function unaryKernel(op: 0 | 1, original: () => KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!nativeKernels() || x.dtype !== "float32" || size(x.shape) === 0) return original()({ inputs, backend, attrs });
    const out = backend.makeOutput(x.shape, "float32");
    nativeKernels()!.unary(op, floats(backend, x), floats(backend, out), op === 1 ? (attrs.alpha as number) : 0);
    return out;
  };
}

/** The name of the native gradient of Relu (see patchWasmKernels). */
const NATIVE_RELU_GRAD = "NativeReluGrad";

const nativeReluGrad: KernelFunc = ({ inputs: { dy, x }, backend }) => {
  const dx = backend.makeOutput(x.shape, "float32");
  nativeKernels()!.reluGrad(floats(backend, dy), floats(backend, x), floats(backend, dx));
  return dx;
};

let wasmAdd: KernelFunc | undefined;
let wasmMultiply: KernelFunc | undefined;
let wasmRelu: KernelFunc | undefined;
let wasmStep: KernelFunc | undefined;

/** Replaces a wasm kernel with `kernelFunc`; returns the original. */
function reroute(name: string, kernelFunc: KernelFunc): KernelFunc {
  const original = kernelConfig(name);
  tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return original.kernelFunc as unknown as KernelFunc;
}

/** The numbers of one AdamW step: its settings, and the bias corrections of step t. */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** √(1 − β2^t) */
  bias2Sqrt: number;
}

/** One parameter's AdamW update: the parameter, its gradient, and its two moments. */
export interface AdamWEntry {
  p: tf.Variable;
  g: tf.Tensor;
  m: tf.Variable;
  v: tf.Variable;
}

/**
 * Updates the parameters of `entries` in place, all in one native call; returns the entries it left alone, for
 * AdamW.step's reference maths.
 */
export type AdamWInPlace = (entries: AdamWEntry[], hyper: AdamWHyper) => AdamWEntry[];

/**
 * AdamW's step as one native call for every parameter, where the native kernels run (on the wasm backend); undefined
 * elsewhere, and then AdamW.step runs its reference maths. The kernel rounds as the element-wise ops do: the same
 * numbers. It writes the new p, m and v over the old ones, as torch.optim.AdamW does, instead of making new tensors
 * and assigning them (a dozen tfjs calls a parameter); so it takes only an entry whose memory nothing else shares: a
 * tensor made from a parameter by tf.clone, reshape or tf.variable shares it, keeps its values, and that parameter
 * takes the reference route.
 */
export function fusedAdamWStep(): AdamWInPlace | undefined {
  const native = nativeKernels();
  if (!native || tf.getBackend() !== BACKEND) return undefined;
  return (entries, { lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt }) => {
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
  };
}

/**
 * Whether an update may be written in place: float32 tensors of one size on this backend, and p, m and v each the
 * only tensor on its memory.
 */
function ownsItsMemory(backend: BackendWasm, { p, g, m, v }: AdamWEntry): boolean {
  if ([p, g, m, v].some((x) => x.isDisposed || x.dtype !== "float32" || x.size !== p.size || backend.refCount(x.dataId) === 0)) return false;
  return [p, m, v].every((x) => backend.refCount(x.dataId) === 1);
}

/** The name of the native dropout kernel (see nativeDropout). */
export const NATIVE_DROPOUT = "NativeDropout";

interface DropoutAttrs extends tf.NamedAttrMap {
  p: number;
  seed: number;
}

/** NativeDropout: input x; attrs p and seed; output x with its seeded mask applied. Registered only for wasm. */
const nativeDropoutKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  const out = backend.makeOutput(x.shape, "float32");
  nativeKernels()!.dropout(floats(backend, x), floats(backend, out), attrs.p as number, attrs.seed as number);
  return out;
};

/**
 * Dropout on the native kernels, where they run (the wasm backend with the native kernels on): each element is zeroed
 * with probability p, decided by a hash of `seed` and its index (the GPU route's hash, so the same seed gives the same
 * mask there), and the rest are scaled by 1/(1−p). Differentiable: the backward pass applies the same mask to dy.
 * Returns undefined where it does not run (then Dropout uses tf.dropout, the WebAssembly route unchanged).
 */
export function nativeDropout<T extends tf.Tensor>(x: T, p: number, seed: number): T | undefined {
  if (!nativeKernels() || x.dtype !== "float32" || tf.getBackend() !== BACKEND || !tf.getKernel(NATIVE_DROPOUT, BACKEND)) return undefined;
  const attrs: DropoutAttrs = { p, seed: seed >>> 0 };
  return tf.engine().runKernel(NATIVE_DROPOUT, { x }, attrs) as T;
}

/** Installs the repairs. Call before the wasm backend is first used; calling twice does nothing. */
export function patchWasmKernels(): void {
  if (wasmBatchMatMul) return;
  if (!tf.getKernel("BatchMatMul", BACKEND)) throw new Error("The wasm backend is not registered: import '@tensorflow/tfjs-backend-wasm' first.");
  wasmBatchMatMul = reroute("BatchMatMul", batchMatMul);
  wasmSum = reroute("Sum", sum);
  wasmGather = reroute("GatherV2", gather);
  wasmIdentity = reroute("Identity", identity);
  wasmCast = reroute("Cast", cast);
  wasmTranspose = reroute("Transpose", transpose);
  wasmSplitV = reroute("SplitV", splitV);
  wasmConcat = reroute("Concat", concat);
  wasmAdd = reroute("Add", binaryKernel(0, () => wasmAdd!));
  wasmMultiply = reroute("Multiply", binaryKernel(1, () => wasmMultiply!));
  wasmRelu = reroute("Relu", unaryKernel(0, () => wasmRelu!));
  wasmStep = reroute("Step", unaryKernel(1, () => wasmStep!));
  if (!tf.getKernel("UnsortedSegmentSum", BACKEND)) {
    tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: BACKEND, kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
  tf.registerKernel({ kernelName: NATIVE_DROPOUT, backendName: BACKEND, kernelFunc: nativeDropoutKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: NATIVE_RELU_GRAD, backendName: BACKEND, kernelFunc: nativeReluGrad as unknown as tf.KernelFunc });
  registerFusedKernels();
  // Relu's gradient on every backend: tfjs's own (dy · step(x)), or, on wasm with the native kernels, the same numbers
  // in one native pass.
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({
      x: () => {
        const native = nativeKernels() && tf.getBackend() === BACKEND && x.dtype === "float32" && (dy as tf.Tensor).dtype === "float32" && x.size > 0;
        return native ? (tf.engine().runKernel(NATIVE_RELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor) : tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), "float32"));
      },
    }),
  });
  tf.registerGradient({
    kernelName: NATIVE_DROPOUT,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(NATIVE_DROPOUT, { x: dy as tf.Tensor }, attrs as DropoutAttrs) as tf.Tensor }),
  });
}
