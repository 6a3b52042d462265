/**
 * Chooses the TensorFlow.js engine the lessons run on.
 *
 * Order of preference (docs/engines.md, "How a backend is chosen"):
 *   0. for the scaled model's workload only (initBackend(prefer, { workload: "scaled" }): the train command on
 *      gpt.py's width), the webgpu backend on a hardware GPU through Dawn (./webgpu). The small lessons run a few thousand
 *      tiny kernels a step, where a GPU's per-kernel overhead loses to the CPU kernels, so they never choose it;
 *   1. @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node: native TensorFlow, used only when the user installed one
 *      and it loads (their install downloads libtensorflow from outside npm, so neither is a dependency);
 *   2. the WebAssembly backend with SIMD (the default), with its kernel gaps repaired (./wasm-repairs), and its matrix
 *      multiplies, element-wise ops and fused chains on native CPU kernels where they load (./native-routes,
 *      ./fused-kernels, reached from the reference maths through ./fast);
 *   3. the pure-JavaScript cpu backend, when WebAssembly cannot start.
 * GPT_BACKEND=webgpu|tensorflow|wasm|cpu asks for one engine explicitly (webgpu then also accepts a software adapter,
 * SwiftShader, for the tests).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { registerFusedKernels } from "./fused-kernels";
import { nativeKernelsStatus } from "./native-kernels";
import { registerNativeRoutes } from "./native-routes";
import { guardWasmMemory, repairWasmBackend } from "./wasm-repairs";
import { startWebGPU } from "./webgpu";

export type BackendName = "webgpu" | "tensorflow" | "wasm" | "cpu";

/**
 * What the engine will run: "lessons" (the default: small models, many tiny kernels) or "scaled" (gpt.py's full model,
 * the train command), the only workload for which the automatic choice looks for a GPU.
 */
export type Workload = "lessons" | "scaled";

export interface BackendOptions {
  workload?: Workload;
}

export interface BackendInfo {
  /** The tfjs backend that runs: "webgpu" (a GPU through Dawn), "tensorflow" (native), "wasm" or "cpu". */
  name: BackendName;
  /**
   * For a lesson's or a command's first output: which engine runs, and how. One line; two when a GPU was looked for
   * and not used (the first says why).
   */
  description: string;
  /** Why the GPU engine is not used, when the workload looked for one (also the first line of the description). */
  gpuFallback?: string;
}

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

/** Loads a native binding if one is installed; true when it registered the "tensorflow" backend. */
function loadNative(): string | undefined {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      require(pkg);
    } catch {
      continue; // not installed, or libtensorflow missing: try the next one
    }
    // The project's stand-in for @tensorflow/tfjs-node (danfo's dependency) loads but registers no backend.
    if (tf.findBackendFactory("tensorflow")) return pkg;
  }
  return undefined;
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

function describe(name: BackendName, nativePackage?: string): string {
  const version = `tfjs ${tf.version.tfjs}`;
  if (name === "tensorflow") return `Backend: tensorflow (native, ${nativePackage}) — ${version}`;
  if (name === "wasm") {
    const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "SIMD on" : "SIMD off";
    return `Backend: wasm (WebAssembly, ${simd}) with ${nativeKernelsStatus()} — ${version}`;
  }
  return `Backend: cpu (pure JavaScript, slow: about 30x slower than wasm) — ${version}`;
}

/**
 * Starts the best available engine and returns which one runs. Safe to call more than once.
 * @param prefer an engine to use instead of the automatic choice (default: the GPT_BACKEND environment variable).
 * @param options.workload "scaled" lets the automatic choice take a hardware GPU (see the file's comment).
 */
export async function initBackend(
  prefer: BackendName | "auto" = (process.env.GPT_BACKEND as BackendName) || "auto",
  { workload = "lessons" }: BackendOptions = {},
): Promise<BackendInfo> {
  if (!["auto", "webgpu", "tensorflow", "wasm", "cpu"].includes(prefer)) {
    throw new Error(`Unknown backend "${prefer}". Use one of: auto, webgpu, tensorflow, wasm, cpu (GPT_BACKEND).`);
  }
  if (!["lessons", "scaled"].includes(workload)) throw new Error(`Unknown workload "${workload}". Use "lessons" or "scaled".`);
  nativeKernelsStatus(); // reads GPT_NATIVE and GPT_THREADS first: a typo there is an error, not a silent other engine
  // Before the wasm backend's first use, so that its kernels are set up through the repairs and routes.
  repairWasmBackend();
  registerNativeRoutes();
  registerFusedKernels();
  let gpuFallback: string | undefined;
  if (prefer === "webgpu" || (prefer === "auto" && workload === "scaled")) {
    const forced = prefer === "webgpu";
    const gpu = await startWebGPU({ acceptSoftware: forced, checkVulkan: !forced });
    if (gpu.ok) return { name: "webgpu", description: gpu.line };
    if (forced) throw new Error(`GPT_BACKEND=webgpu, but the GPU engine did not start: ${gpu.reason}. See docs/engines.md, 'The GPU engine'.`);
    gpuFallback = `GPU engine not used: ${gpu.reason}; running on the CPU.`;
  }
  const info = await startCpuSide(prefer);
  return gpuFallback ? { ...info, description: `${gpuFallback}\n${info.description}`, gpuFallback } : info;
}

/** The engines that run on the CPU: native tensorflow, wasm, cpu. */
async function startCpuSide(prefer: BackendName | "auto"): Promise<BackendInfo> {
  if (prefer === "auto" || prefer === "tensorflow") {
    const nativePackage = loadNative();
    if (nativePackage && (await tryBackend("tensorflow"))) return { name: "tensorflow", description: describe("tensorflow", nativePackage) };
    if (prefer === "tensorflow") {
      throw new Error("GPT_BACKEND=tensorflow, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads. See docs/engines.md, 'How a backend is chosen'.");
    }
  }
  if (prefer !== "cpu" && (await tryBackend("wasm"))) {
    guardWasmMemory(tf.backend() as BackendWasm);
    return { name: "wasm", description: describe("wasm") };
  }
  if (!(await tryBackend("cpu"))) throw new Error("No TensorFlow.js backend could start (tried wasm and cpu).");
  return { name: "cpu", description: describe("cpu") };
}
