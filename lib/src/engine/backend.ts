/**
 * Chooses the TensorFlow.js engine the lessons run on.
 *
 * Order of preference (see README, "Engines"):
 *   1. @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node: native TensorFlow, used only when the user installed one
 *      and it loads (their install downloads libtensorflow from outside npm, so neither is a dependency);
 *   2. the WebAssembly backend with SIMD (the default), with its kernel gaps repaired (./wasm-kernels) and its matrix
 *      multiplies and AdamW updates on native CPU kernels where they load (./native-kernels);
 *   3. the pure-JavaScript cpu backend, when WebAssembly cannot start.
 * GPT_BACKEND=tensorflow|wasm|cpu asks for one engine explicitly.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { patchWasmKernels } from "./wasm-kernels";
import { nativeKernelsStatus } from "./native-kernels";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** The tfjs backend that runs: "tensorflow" (native), "wasm" or "cpu". */
  name: BackendName;
  /** One line for a lesson's first output: which engine runs, and how. */
  description: string;
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
 */
export async function initBackend(prefer: BackendName | "auto" = (process.env.GPT_BACKEND as BackendName) || "auto"): Promise<BackendInfo> {
  if (!["auto", "tensorflow", "wasm", "cpu"].includes(prefer)) {
    throw new Error(`Unknown backend "${prefer}". Use one of: auto, tensorflow, wasm, cpu (GPT_BACKEND).`);
  }
  nativeKernelsStatus(); // reads GPT_NATIVE and GPT_THREADS first: a typo there is an error, not a silent other engine
  patchWasmKernels(); // before the wasm backend's first use, so its kernels are set up through the repairs
  if (prefer === "auto" || prefer === "tensorflow") {
    const nativePackage = loadNative();
    if (nativePackage && (await tryBackend("tensorflow"))) return { name: "tensorflow", description: describe("tensorflow", nativePackage) };
    if (prefer === "tensorflow") {
      throw new Error("GPT_BACKEND=tensorflow, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads. See README, 'Engines'.");
    }
  }
  if (prefer !== "cpu" && (await tryBackend("wasm"))) return { name: "wasm", description: describe("wasm") };
  if (!(await tryBackend("cpu"))) throw new Error("No TensorFlow.js backend could start (tried wasm and cpu).");
  return { name: "cpu", description: describe("cpu") };
}
