/**
 * Two repairs to TensorFlow.js's WebAssembly backend, so that training on it is correct and not needlessly slow.
 *
 * 1. BatchMatMul. The wasm kernel takes its fast (XNNPACK) path only when neither operand is transposed and the
 *    batch is 1; anything else runs a scalar loop about 20x slower. Every matmul gradient asks for a transposed
 *    operand, and every attention matmul is batched. We route those calls onto the fast path: transpose first (a fast
 *    kernel), fold a batch into rows when the right operand is shared, and split a large batched product into
 *    batch-1 products. The maths is unchanged; only the route differs.
 * 2. UnsortedSegmentSum, the gradient of `gather` (an embedding lookup), is not registered at all. We add it.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

type TensorInfo = tf.TensorInfo;
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: Record<string, unknown> }) => TensorInfo;

const BACKEND = "wasm";
/** Below this many multiply-adds per batch slice, the scalar loop is cheaper than one call per slice. */
const MIN_SLICE_MACS = 16 * 16 * 16;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function kernel(name: string): KernelFunc {
  const config = tf.getKernel(name, BACKEND);
  if (!config) throw new Error(`tfjs-backend-wasm has no ${name} kernel: is @tensorflow/tfjs-backend-wasm 4.22.0 installed?`);
  return config.kernelFunc as unknown as KernelFunc;
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

/** Installs both repairs. Call before the wasm backend is first used; calling twice does nothing. */
export function patchWasmKernels(): void {
  if (wasmBatchMatMul) return;
  const original = tf.getKernel("BatchMatMul", BACKEND);
  if (!original) throw new Error("The wasm backend is not registered: import '@tensorflow/tfjs-backend-wasm' first.");
  wasmBatchMatMul = original.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel("BatchMatMul", BACKEND);
  tf.registerKernel({ ...original, kernelFunc: batchMatMul as unknown as tf.KernelFunc });
  if (!tf.getKernel("UnsortedSegmentSum", BACKEND)) {
    tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: BACKEND, kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
}
