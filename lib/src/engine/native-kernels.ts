/**
 * Native CPU kernels (lib/native/src): a batched matrix multiply on every core, AdamW in place in one call, a column
 * sum (a bias gradient), dropout with its mask drawn natively (seeded), the fused kernels of ./fused-kernels and
 * strided copies. They work on the wasm backend's tensors in place, through Float32Array views of its heap. AdamW,
 * dropout, the column sum and the copies round as the WebAssembly kernels do (the same bits); the matmul's fused
 * multiply-adds and the fused kernels round once where the WebAssembly route rounds twice, or add in another order, so
 * training agrees with that route within rounding.
 *
 * The kernels come in three instruction sets, chosen when the module loads: AVX-512 and AVX2 (the same bits) where the
 * CPU has them, and portable C++ that the compiler vectorises everywhere else (ARM64, older x86); GPT_NATIVE_ISA=avx2
 * or portable forces one. The module is committed for linux-x64 (lib/native/prebuilt), so no compiler is needed to
 * install the project there; elsewhere `npm install` builds it (lib/native/install.mjs) where a C++ compiler and
 * Node's headers are at hand. A module carries the sha256 of the sources it was built from, and one built here from
 * other sources is refused. Anywhere no module loads (or GPT_NATIVE=0/false/no/off) the WebAssembly kernels run
 * instead, and `nativeKernelsStatus()` says why in one line.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { envFlag, envPositiveInt, thenRestore } from "../env";

export interface NativeKernels {
  /**
   * c = a @ b for each of max(batchA, batchB) slices; a batch of 1 is shared. Shapes (batch, M, K) @ (batch, K, N).
   * With a bias (N), c = a @ b + bias on every row, each sum rounded once: the bits of a matmul and then an Add.
   * With relu 1, c = relu(that) as each tile is stored: the bits of a separate Relu (`unary` op 0).
   * With sumsA (transA and one slice only), also sumsA[i] = Σ_k a(i, k) (M values), summed while a is read: the bits
   * of `sumRows` on a as stored (K, M).
   */
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, batchA: number, batchB: number, M: number, K: number, N: number, transA: number, transB: number, bias?: Float32Array, relu?: number, sumsA?: Float32Array): void;
  /**
   * One AdamW step of every parameter, in place: `arrays` holds p, g, m, v of each in turn (no two overlapping); each
   * p, m and v is overwritten. Scalars as documented in lib/native/src/kernels.h (AdamWScalars).
   */
  adamw(arrays: Float32Array[], scalars: Float32Array): void;
  /** out[c] = sum over r of x[r, c], for x (rows, cols). */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /**
   * out = x with each element zeroed with probability p and the rest scaled by 1/(1−p); element i's fate is a hash of
   * (seed, i), the GPU route's (webgpu.ts, dropoutMask): the same seed, the same mask, on any thread count.
   */
  dropout(x: Float32Array, out: Float32Array, p: number, seed: number): void;
  /** y = LayerNorm of each row of x (rows, cols) with weight w and bias b (cols): the fused kernel (fused-kernels.ts). */
  layerNorm(x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, rows: number, cols: number, eps: number): void;
  /** dx, dw, db of LayerNorm from dy, x and w (its statistics are recomputed from x). */
  layerNormGrad(dy: Float32Array, x: Float32Array, w: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array, rows: number, cols: number, eps: number): void;
  /** y = the causal softmax of x, rows of T scores, row r seeing positions 0..(r mod T). */
  causalSoftmax(x: Float32Array, y: Float32Array, rows: number, T: number): void;
  /** dx of the causal softmax from dy and its output y. */
  causalSoftmaxGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, rows: number, T: number): void;
  /** The mean cross-entropy of logits (N, V) against targets (N); NaN if a target is outside [0, V). */
  crossEntropy(logits: Float32Array, targets: Int32Array, N: number, V: number): number;
  /** dx = (softmax(logits) − onehot(targets)) · dloss / N. */
  crossEntropyGrad(logits: Float32Array, targets: Int32Array, dloss: number, dx: Float32Array, N: number, V: number): void;
  /**
   * y (B, T, C) = causal self-attention of nh heads of hs channels from qkv (B, T, 3C), nanoGPT's c_attn output:
   * scores q·kᵀ·scale, causal softmax, dropout with probability p (0: none) drawn as `dropout` draws it for the
   * (B, nh, T, T) weights from `seed`, then the weights times the values.
   */
  causalAttention(qkv: Float32Array, y: Float32Array, B: number, T: number, nh: number, hs: number, scale: number, p: number, seed: number): void;
  /** dqkv (B, T, 3C) of causalAttention from dy (B, T, C); the weights are recomputed, the dropout mask redrawn. */
  causalAttentionGrad(dy: Float32Array, qkv: Float32Array, dqkv: Float32Array, B: number, T: number, nh: number, hs: number, scale: number, p: number, seed: number): void;
  /** out = a + b (op 0) or a · b (op 1); a or b may be shorter than out, repeated along it (its length divides out's). */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out = relu(x) (op 0, as Math.max(0, x)) or step(x) (op 1: 1 where x > 0, else alpha; NaN stays NaN). */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** dx = dy · step(x), the gradient of relu as tfjs computes it (NaN where x is NaN). */
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** For r < rows: width floats from src[srcOffset + r·srcStride] to dst[dstOffset + r·dstStride]. */
  copyRows(src: Float32Array, srcOffset: number, srcStride: number, dst: Float32Array, dstOffset: number, dstStride: number, rows: number, width: number): void;
  /** out = x (shape) transposed by perm, where perm keeps the last axis (rank 1..6). */
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /** Whether this CPU has AVX-512 (F, BW, DQ, VL). */
  avx512: boolean;
  /** Whether this CPU has AVX2 and FMA. */
  avx2: boolean;
  /**
   * Whether the portable kernels fuse the matmul's multiply-adds (where the compiler targets fused multiply-adds, as on
   * ARM64): then they give the AVX paths' bits; else each product is rounded before it is added.
   */
  portableFma: boolean;
  /** The sha256 of the sources the module was built from (lib/native/sources.cjs). */
  sourceSha256: string;
  /**
   * The instruction set the kernels run on, "AVX-512", "AVX2" or "portable" (chosen at load: the best the CPU has,
   * unless GPT_NATIVE_ISA names another); given "avx512", "avx2" or "portable", switches to it and returns the previous
   * one.
   */
  isa(name?: NativeIsa): string;
  /** Threads the matmul runs on (GPT_THREADS, default: the cores this process may use). */
  threads(): number;
}

/** The kernels' instruction sets: GPT_NATIVE_ISA forces one (auto, the default: the best the CPU has). */
export type NativeIsa = "avx2" | "avx512" | "portable";

/** isa()'s names of the instruction sets. */
const ISA_NAMES: Record<NativeIsa, string> = { avx512: "AVX-512", avx2: "AVX2", portable: "portable" };

/** GPT_NATIVE_ISA, checked: "auto" (or unset), "avx512", "avx2" or "portable"; anything else is an error. */
function requestedIsa(): NativeIsa | "auto" {
  const raw = process.env.GPT_NATIVE_ISA;
  const value = (raw ?? "").trim().toLowerCase().replace("-", "");
  if (value === "" || value === "auto") return "auto";
  if (value === "avx2" || value === "avx512" || value === "portable") return value;
  throw new Error(`GPT_NATIVE_ISA=${JSON.stringify(raw)} is not an instruction set: use avx512, avx2, portable or auto (or leave it unset).`);
}

/** lib/native/sources.cjs: where the modules live, and the stamp of the sources in this checkout. */
interface NativeSources {
  sourceSha256(): string;
  prebuiltPath(): string;
  localBuildPath(): string;
  localStatusPath(): string;
}

type NativeModule = { supported: boolean } & Partial<NativeKernels>;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

/**
 * The module: the prebuilt one for this platform, else the one `npm install` built here (when its stamp is this
 * checkout's); or why neither loads, in a few words.
 */
function openModule(): NativeModule | string {
  let sources: NativeSources;
  try {
    sources = require(path.resolve(__dirname, "..", "..", "native", "sources.cjs")) as NativeSources;
  } catch (err) {
    return `lib/native is missing: ${firstLine(err)}`;
  }
  let prebuiltFailure: string | undefined;
  const prebuilt = sources.prebuiltPath();
  if (existsSync(prebuilt)) {
    try {
      return require(prebuilt) as NativeModule;
    } catch (err) {
      prebuiltFailure = `the prebuilt module does not load: ${firstLine(err)}`;
    }
  }
  const local = sources.localBuildPath();
  if (existsSync(local)) {
    try {
      const module = require(local) as NativeModule;
      if (module.sourceSha256 === sources.sourceSha256()) return module;
      return "the module built here is stale, built from other sources: rebuild it with npm install, or node lib/native/build.mjs --local";
    } catch (err) {
      return `the module built here does not load: ${firstLine(err)}`;
    }
  }
  if (prebuiltFailure) return prebuiltFailure;
  const status = sources.localStatusPath();
  if (existsSync(status)) return readFileSync(status, "utf8").trim().split("\n")[0];
  return "no prebuilt module, and none built here: run npm install with a C++ compiler, or node lib/native/build.mjs --local";
}

interface Loaded {
  kernels?: NativeKernels;
  /** Why the kernels do not run; or, when they do, what follows the ISA in the status line. */
  status: string;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  const isa = requestedIsa();
  if (envFlag("GPT_NATIVE") === false) return { status: `native CPU kernels off (GPT_NATIVE=${process.env.GPT_NATIVE!.trim()})` };
  // More threads than cores only queue up behind each other (GPT_THREADS=1000 on 2 cores ran 7x slower): cap it.
  const requested = envPositiveInt("GPT_THREADS");
  const cores = availableParallelism();
  const capped = requested !== undefined && requested > cores;
  const module = openModule();
  if (typeof module === "string") return { status: `native CPU kernels unavailable for ${process.platform}-${process.arch}: ${module}; using WebAssembly's` };
  if (!module.supported) return { status: "native CPU kernels do not run on this CPU; using WebAssembly's" };
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
  let note = capped ? `; GPT_THREADS=${requested} capped at the ${cores} cores available` : "";
  const best: NativeIsa = kernels.avx512 ? "avx512" : kernels.avx2 ? "avx2" : "portable";
  const runs = (name: NativeIsa) => name === "portable" || (name === "avx2" ? kernels.avx2 : kernels.avx512);
  if (isa !== "auto" && !runs(isa)) note += `; GPT_NATIVE_ISA=${isa}, but this CPU has no ${isa === "avx512" ? "AVX-512" : "AVX2 and FMA"}`;
  else if (isa !== "auto") kernels.isa(isa);
  if (isa !== "auto" && kernels.isa() !== ISA_NAMES[best]) note += `; ${ISA_NAMES[best]} available, GPT_NATIVE_ISA=${isa}`;
  return { kernels, status: `${threads} threads${note}` };
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
  return thenRestore(f, () => useNativeKernels(previous));
}

/** One line: which kernels run (and on which instruction set), or why the native ones do not. */
export function nativeKernelsStatus(): string {
  loaded ??= load();
  return loaded.kernels ? `native CPU kernels (${loaded.kernels.isa()}, ${loaded.status})` : loaded.status;
}

/**
 * Runs `f` with the kernels on one instruction set (to compare them in one process: the tests, the benchmark), then
 * restores the previous one. Throws where the native kernels do not run, or the CPU lacks it.
 */
export function withNativeIsa<T>(isa: NativeIsa, f: () => T): T {
  const kernels = nativeKernels();
  if (!kernels) throw new Error(`withNativeIsa: ${nativeKernelsStatus()}`);
  const name = kernels.isa(isa);
  const previous = (Object.keys(ISA_NAMES) as NativeIsa[]).find((key) => ISA_NAMES[key] === name)!;
  return thenRestore(f, () => kernels.isa(previous));
}
