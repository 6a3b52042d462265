/**
 * Repairs of TensorFlow.js's WebAssembly backend (4.22), so that training on it is correct and not needlessly slow.
 * Each keeps the maths and changes only the route, in JavaScript and the backend's own kernels:
 *
 * - BatchMatMul: the wasm kernel takes its fast (XNNPACK) path only when neither operand is transposed and the batch
 *   is 1; anything else runs a scalar loop about 20x slower. Every matmul gradient asks for a transposed operand, and
 *   every attention matmul is batched. Such calls go onto the fast path: transpose first (a fast kernel), fold a batch
 *   into rows when the right operand is shared, or split a large batched product into batch-1 products.
 * - UnsortedSegmentSum, the gradient of `gather` (an embedding lookup), is not registered at all: added.
 * - GatherV2 along axis 0 (an embedding lookup) copies rows directly: the wasm kernel is slow at it.
 * - Identity, and Cast to the dtype a tensor already has, share the input's memory (as the cpu backend does) instead of
 *   copying it: tfjs clones every tensor it keeps for the backward pass.
 * - Out of memory: the heap is at most 4 GiB. When it cannot grow, the backend's allocation returns address 0, and a
 *   request of 4 GiB or more wraps around to a small one (the size is a 32-bit argument); either way kernels then read
 *   and write over other tensors (garbage losses, "memory access out of bounds"). Such an allocation throws
 *   EngineOutOfMemory instead.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { callKernel, kernelConfig, registerWasmKernel, reroute, size, WASM, type KernelFunc, type TensorInfo } from "./wasm-kernel";

/** Below this many multiply-adds per batch slice, the scalar loop is cheaper than one call per slice. */
const MIN_SLICE_MACS = 16 * 16 * 16;

function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return callKernel("Reshape", { inputs: { x }, backend, attrs: { shape } });
}

/** (..., m, k) -> (batch, k, m), through the fast Transpose kernel. */
function transposeLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const [m, k] = x.shape.slice(-2);
  const x3 = reshape(backend, x, [size(x.shape.slice(0, -2)), m, k]);
  const out = callKernel("Transpose", { inputs: { x: x3 }, backend, attrs: { perm: [0, 2, 1] } });
  backend.disposeData(x3.dataId);
  return out;
}

type Product = (a: TensorInfo, b: TensorInfo) => TensorInfo;

/** a (batch, m, k) @ b (batch, k, n), one fast batch-1 product per slice, copied into one output (batch, m, n). */
function slicedMatMul(backend: BackendWasm, fast: Product, a: TensorInfo, b: TensorInfo, batch: number): TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const out = backend.makeOutput([batch, m, n], "float32");
  for (let i = 0; i < batch; i++) {
    const ai = backend.makeOutput([1, m, k], "float32");
    const bi = backend.makeOutput([1, k, n], "float32");
    // Views into the wasm heap are taken afresh after every allocation: the heap may have grown and moved.
    backend.typedArrayFromHeap(ai).set(backend.typedArrayFromHeap(a).subarray(i * m * k, (i + 1) * m * k));
    backend.typedArrayFromHeap(bi).set(backend.typedArrayFromHeap(b).subarray(i * k * n, (i + 1) * k * n));
    const oi = fast(ai, bi);
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(oi), i * m * n);
    for (const t of [ai, bi, oi]) backend.disposeData(t.dataId);
  }
  return out;
}

/** The batch sizes of a matmul's operands, and whether the repaired route takes it (float32, batches that match or one of 1). */
export function matmulBatches(a: TensorInfo, b: TensorInfo): { batchA: number; batchB: number; plain: boolean } {
  const shapeA = a.shape.slice(0, -2);
  const shapeB = b.shape.slice(0, -2);
  const batchA = size(shapeA);
  const batchB = size(shapeB);
  const same = shapeA.length === shapeB.length && shapeA.every((d, i) => d === shapeB[i]);
  return { batchA, batchB, plain: a.dtype === "float32" && b.dtype === "float32" && (same || batchA === 1 || batchB === 1) };
}

const batchMatMul = (original: KernelFunc): KernelFunc => ({ inputs, backend, attrs }) => {
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  const { batchA, batchB, plain } = matmulBatches(a, b);
  if (!plain) return original({ inputs, backend, attrs }); // general broadcasting: the original handles it
  const fast: Product = (x, y) => original({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
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
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)).concat([m, n]);
  let out: TensorInfo;
  if (batchB === 1 && batchA > 1) {
    // A shared right operand (a Linear layer on (B, T, C)): fold the batch into rows, one fast product.
    const a2 = reshape(backend, A, [1, batchA * m, k]);
    temporaries.push(a2);
    out = fast(a2, B);
  } else if (batchA === batchB && batchA > 1 && m * k * n >= MIN_SLICE_MACS) {
    out = slicedMatMul(backend, fast, A, B, batchA);
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

/** x[indices] along axis 0 with no batch dimensions (an embedding lookup): one row copy per index. */
const gather = (original: KernelFunc): KernelFunc => ({ inputs, backend, attrs }) => {
  const { x, indices } = inputs;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  if (axis !== 0 || (attrs.batchDims as number) !== 0 || indices.dtype !== "int32") return original({ inputs, backend, attrs });
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

const identity = (original: KernelFunc): KernelFunc => ({ inputs, backend, attrs }) =>
  inputs.x.dtype === "string" ? original({ inputs, backend, attrs }) : share(backend, inputs.x);

const cast = (original: KernelFunc): KernelFunc => ({ inputs, backend, attrs }) =>
  inputs.x.dtype === attrs.dtype && inputs.x.dtype !== "string" ? share(backend, inputs.x) : original({ inputs, backend, attrs });

/** The heap's limit: WebAssembly's 32-bit addresses, less the last page. */
export const WASM_HEAP_LIMIT = 4294901760;

/** An allocation the CPU engine's heap could not make: the step needs more memory than WebAssembly can address. */
export class EngineOutOfMemory extends Error {
  override readonly name = "EngineOutOfMemory";

  constructor(readonly requestedBytes: number) {
    const mb = (n: number) => `${Math.round(n / 2 ** 20)} MB`;
    super(
      `The CPU engine ran out of memory: WebAssembly's heap holds at most 4 GiB, ${mb(tf.memory().numBytes)} is in use, and ` +
        `${mb(requestedBytes)} more was asked for. Train with a smaller batch, or split each batch into parts whose gradients ` +
        `are summed (the same step: microBatches in train(), --micro-batches in npm run train), or on a GPU (GPT_BACKEND=webgpu).`,
    );
  }
}

interface HeapCount {
  /** Bytes allocated, and not yet freed, since the count began. */
  live: number;
  peak: number;
  sizes: Map<number, number>;
}

interface WasmHeap {
  _malloc(n: number): number;
  _free(at: number): void;
}

/** The count of the measurement under way (peakHeapBytes), if any. */
let counting: HeapCount | undefined;

const guarded = new WeakSet<object>();

/**
 * Makes the backend's allocations throw EngineOutOfMemory where they would return address 0, and lets
 * peakHeapBytes count them. Once per backend.
 */
export function guardWasmMemory(backend: BackendWasm): void {
  const wasm = (backend as unknown as { wasm: WasmHeap }).wasm;
  if (guarded.has(wasm)) return;
  // Emscripten's first _malloc (and _free) replaces itself with the raw export (Module._malloc = asm.malloc): an
  // accessor keeps the guard in place and takes whatever is assigned as the function it guards.
  let malloc = wasm._malloc;
  let free = wasm._free;
  const guardedMalloc = (n: number) => {
    if (n >= WASM_HEAP_LIMIT) throw new EngineOutOfMemory(n);
    const at = malloc.call(wasm, n);
    if (at === 0 && n > 0) throw new EngineOutOfMemory(n);
    if (counting) {
      counting.sizes.set(at, n);
      counting.live += n;
      counting.peak = Math.max(counting.peak, counting.live);
    }
    return at;
  };
  const countedFree = (at: number) => {
    const n = counting?.sizes.get(at);
    if (counting && n !== undefined) {
      counting.live -= n;
      counting.sizes.delete(at);
    }
    free.call(wasm, at);
  };
  Object.defineProperty(wasm, "_malloc", { configurable: true, get: () => guardedMalloc, set: (f: WasmHeap["_malloc"]) => (malloc = f) });
  Object.defineProperty(wasm, "_free", { configurable: true, get: () => countedFree, set: (f: WasmHeap["_free"]) => (free = f) });
  guarded.add(wasm);
}

/**
 * Runs `f` and returns the most heap memory its allocations held at once, in bytes (what was allocated before it is
 * not counted), also when it throws (then `error` is what it threw). Only on the guarded wasm backend.
 */
export function peakHeapBytes(f: () => void): { peakBytes: number; error?: unknown } {
  if (counting) throw new Error("peakHeapBytes: a measurement is already under way");
  counting = { live: 0, peak: 0, sizes: new Map() };
  try {
    f();
    return { peakBytes: counting.peak };
  } catch (error) {
    return { peakBytes: counting.peak, error };
  } finally {
    counting = undefined;
  }
}

let repaired = false;

/** Installs the repairs (not the memory guard, which needs the started backend). Call before the wasm backend's first use. */
export function repairWasmBackend(): void {
  if (repaired) return;
  kernelConfig("BatchMatMul"); // the backend is registered, or a clear error
  reroute("BatchMatMul", batchMatMul);
  reroute("GatherV2", gather);
  reroute("Identity", identity);
  reroute("Cast", cast);
  if (!tf.getKernel("UnsortedSegmentSum", WASM)) registerWasmKernel("UnsortedSegmentSum", unsortedSegmentSum);
  repaired = true;
}
