/**
 * Native CPU kernels (lib/native/cpu-kernels.cc): a batched matrix multiply that uses AVX2 and every core, a fused
 * AdamW update, a column sum (a bias gradient) and dropout with its mask drawn natively (seeded). They work on the wasm backend's tensors in place, through
 * Float32Array views of its heap, and round as the WebAssembly kernels do: training gives the same numbers, faster.
 *
 * The compiled module is committed for linux-x64 (lib/native/prebuilt), so no compiler is needed to install the
 * project. Anywhere it cannot load (another platform, an old CPU, GPT_NATIVE=0/false/no/off) the WebAssembly kernels run instead,
 * and `nativeKernelsStatus()` says why in one line.
 */
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { envFlag, envPositiveInt } from "../env";

export interface NativeKernels {
  /** c = a @ b for each of max(batchA, batchB) slices; a batch of 1 is shared. Shapes (batch, M, K) @ (batch, K, N). */
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, batchA: number, batchB: number, M: number, K: number, N: number, transA: number, transB: number): void;
  /** p2, m2, v2 = one AdamW update of p, m, v with gradient g; scalars as documented in cpu-kernels.cc. */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, p2: Float32Array, m2: Float32Array, v2: Float32Array, scalars: Float32Array): void;
  /** out[c] = sum over r of x[r, c], for x (rows, cols). */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /**
   * out = x with each element zeroed with probability p and the rest scaled by 1/(1−p); element i's fate is a hash of
   * (seed, i), the GPU route's (webgpu.ts, dropoutMask): the same seed, the same mask, on any thread count.
   */
  dropout(x: Float32Array, out: Float32Array, p: number, seed: number): void;
  /** Threads the matmul runs on (GPT_THREADS, default: the cores this process may use). */
  threads(): number;
}

/** Where the prebuilt module for this platform lives. */
export const NATIVE_MODULE_PATH = path.resolve(__dirname, "..", "..", "native", "prebuilt", `${process.platform}-${process.arch}`, "cpu-kernels.node");

let loaded: { kernels?: NativeKernels; status: string } | undefined;

function load(): { kernels?: NativeKernels; status: string } {
  if (envFlag("GPT_NATIVE") === false) return { status: `native CPU kernels off (GPT_NATIVE=${process.env.GPT_NATIVE!.trim()})` };
  // More threads than cores only queue up behind each other (GPT_THREADS=1000 on 2 cores ran 7x slower): cap it.
  const requested = envPositiveInt("GPT_THREADS");
  const cores = availableParallelism();
  const capped = requested !== undefined && requested > cores;
  let module: { supported: boolean } & Partial<NativeKernels>;
  try {
    module = require(NATIVE_MODULE_PATH);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { status: `native CPU kernels unavailable for ${process.platform}-${process.arch} (${reason}); using WebAssembly's` };
  }
  if (!module.supported) return { status: "native CPU kernels need AVX2, which this CPU lacks; using WebAssembly's" };
  const kernels = module as NativeKernels;
  let threads: number;
  if (capped) {
    // The module reads GPT_THREADS once, when its thread pool starts (the first threads() call).
    process.env.GPT_THREADS = String(cores);
    try {
      threads = kernels.threads();
    } finally {
      process.env.GPT_THREADS = String(requested);
    }
  } else {
    threads = kernels.threads();
  }
  const note = capped ? `; GPT_THREADS=${requested} capped at the ${cores} cores available` : "";
  return { kernels, status: `native CPU kernels (AVX2, ${threads} threads${note})` };
}

let enabled = true;

/** The native kernels, or undefined when they cannot run here (or are switched off). Loaded once. */
export function nativeKernels(): NativeKernels | undefined {
  loaded ??= load();
  return enabled ? loaded.kernels : undefined;
}

/**
 * Switches the native kernels off (false) or back on (true) for what runs next, to compare the two paths in one
 * process (the benchmark's maths check, the tests). Returns the previous setting.
 */
export function useNativeKernels(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/** Runs `f` (or awaits it, if it returns a promise) with the native kernels on or off, then restores the setting. */
export function withNativeKernels<T>(on: boolean, f: () => T): T {
  const previous = useNativeKernels(on);
  let result: T;
  try {
    result = f();
  } catch (err) {
    useNativeKernels(previous);
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => useNativeKernels(previous)) as T;
  useNativeKernels(previous);
  return result;
}

/** One line: which kernels run, or why the native ones do not. */
export function nativeKernelsStatus(): string {
  loaded ??= load();
  return loaded.status;
}
