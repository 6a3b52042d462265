/**
 * The GPU engine: TensorFlow.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu) on Dawn, Chrome's WebGPU
 * implementation, through its Node bindings (the `webgpu` npm package). On Linux Dawn drives the GPU through Vulkan:
 * the machine needs the Vulkan loader (libvulkan1) and a Vulkan driver (NVIDIA's, Mesa's RADV or ANV). With no GPU,
 * Dawn can run on SwiftShader, a software Vulkan: correct, far slower than the CPU kernels, used only by the tests.
 *
 * Nothing here loads Dawn until startWebGPU() is called: `webgpu` must set up the WebGPU globals (navigator.gpu and the
 * GPU* constants) before the tfjs backend module is imported, so both are required lazily, in that order.
 *
 * Also here: Dropout's mask drawn on the GPU (gpuDropout), a kernel registered for the webgpu backend only.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** What Dawn reports about the adapter it found. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (SwiftShader, llvmpipe): correct but slower than the CPU kernels. */
  software: boolean;
}

export type WebGPUStart = { ok: true; adapter: AdapterDescription; line: string } | { ok: false; reason: string };

// The parts of WebGPU's API used here (the `webgpu` package's types are not a dependency of the library's build).
interface GpuAdapterLike {
  info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: "high-performance" | "low-power" }): Promise<GpuAdapterLike | null>;
}

let gpu: GpuLike | undefined;

const VULKAN_LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64", "/lib"];
const VULKAN_ICD_DIRS = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d", path.join(os.homedir(), ".local/share/vulkan/icd.d")];

/**
 * On Linux, why Vulkan cannot work here, found without loading Dawn (which prints Vulkan's own warnings when it
 * finds no driver); undefined when the loader and at least one driver manifest are present.
 */
export function vulkanProblem(): string | undefined {
  if (process.platform !== "linux") return undefined; // Dawn uses Metal on macOS and Direct3D 12 on Windows
  const libraryDirs = [...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean), ...VULKAN_LIBRARY_DIRS];
  if (!libraryDirs.some((dir) => existsSync(path.join(dir, "libvulkan.so.1")))) {
    return "no Vulkan loader (libvulkan.so.1): install it (Debian/Ubuntu: apt-get install libvulkan1)";
  }
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return undefined;
  const hasManifest = (dir: string) => {
    try {
      return readdirSync(dir).some((f) => f.endsWith(".json"));
    } catch {
      return false;
    }
  };
  if (!VULKAN_ICD_DIRS.some(hasManifest)) return `no Vulkan driver (no manifest in ${VULKAN_ICD_DIRS.slice(0, 2).join(" or ")}): install the GPU's Vulkan driver`;
  return undefined;
}

/** Loads Dawn and sets the WebGPU globals the tfjs backend expects; throws with the loader's message on failure. */
function loadDawn(): GpuLike {
  if (gpu) return gpu;
  // The package is an ES module; Node ≥ 20.19 loads it with require().
  const { create, globals } = require("webgpu") as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  gpu = create([]);
  const nav = (globalThis as unknown as { navigator?: object }).navigator;
  if (nav && typeof nav === "object") Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

function describeAdapter(adapter: GpuAdapterLike): AdapterDescription {
  const info = adapter.info ?? {};
  const [vendor, architecture, device, description] = [info.vendor, info.architecture, info.device, info.description].map((s) => s ?? "");
  const software = info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|software/i.test(`${architecture} ${description}`);
  return { vendor, architecture, device, description, software };
}

/** The adapter in a few words: "nvidia hopper (NVIDIA H200)". */
export function adapterName(a: AdapterDescription): string {
  const main = [a.vendor, a.architecture].filter(Boolean).join(" ") || "unknown adapter";
  return a.description && a.description !== main ? `${main} (${a.description})` : main;
}

/**
 * Starts the webgpu backend. A software adapter is refused unless `acceptSoftware` (GPT_BACKEND=webgpu, the tests).
 * Never throws: a failure comes back with its reason, in a few words, for the fallback line.
 */
export async function startWebGPU({ acceptSoftware, checkVulkan = true }: { acceptSoftware: boolean; checkVulkan?: boolean }): Promise<WebGPUStart> {
  if (startedWith) return restart(startedWith, acceptSoftware);
  const problem = checkVulkan ? vulkanProblem() : undefined;
  if (problem) return { ok: false, reason: problem };
  let adapter: AdapterDescription;
  try {
    const found = await loadDawn().requestAdapter({ powerPreference: "high-performance" });
    if (!found) return { ok: false, reason: `Dawn found no GPU adapter (${vulkanProblem() ?? "is the GPU's Vulkan driver installed?"})` };
    adapter = describeAdapter(found);
  } catch (e) {
    return { ok: false, reason: `the webgpu package did not load (${firstLine(e)})` };
  }
  if (adapter.software && !acceptSoftware) return softwareRefused(adapter);
  try {
    require("@tensorflow/tfjs-backend-webgpu");
    registerDropoutKernel();
    if (!(await tf.setBackend("webgpu"))) return { ok: false, reason: `tfjs's webgpu backend did not start on ${adapterName(adapter)}` };
  } catch (e) {
    return { ok: false, reason: `tfjs's webgpu backend failed on ${adapterName(adapter)} (${firstLine(e)})` };
  }
  watchDeviceLoss();
  startedWith = adapter;
  return { ok: true, adapter, line: lineFor(adapter) };
}

/** The adapter the webgpu backend runs on, once it has started (Dawn gives a process one device). */
let startedWith: AdapterDescription | undefined;

const softwareRefused = (a: AdapterDescription): WebGPUStart => ({ ok: false, reason: `the only adapter is software (${adapterName(a)}), slower than the CPU kernels` });

/** Switches back to the webgpu backend already started (after another backend ran in between). */
async function restart(adapter: AdapterDescription, acceptSoftware: boolean): Promise<WebGPUStart> {
  if (adapter.software && !acceptSoftware) return softwareRefused(adapter);
  if (!(await tf.setBackend("webgpu"))) return { ok: false, reason: `tfjs's webgpu backend did not restart on ${adapterName(adapter)}` };
  return { ok: true, adapter, line: lineFor(adapter) };
}

function lineFor(a: AdapterDescription): string {
  const kind = a.software ? "software adapter: correct, far slower than a GPU" : "GPU";
  return `Backend: webgpu (Dawn on ${adapterName(a)}, ${kind}) — tfjs ${tf.version.tfjs}`;
}

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split("\n")[0];

/** tfjs's webgpu backend ignores a lost device (driver reset, GPU removed): say so once, instead of failing silently. */
function watchDeviceLoss(): void {
  const device = (tf.backend() as unknown as { device?: { lost?: Promise<{ reason?: string; message?: string }> } }).device;
  device?.lost?.then((info) => {
    if (info?.reason === "destroyed") return;
    console.error(`The GPU device was lost (${info?.message || info?.reason || "no reason given"}): restart the kernel or the command to continue.`);
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Dropout with its mask drawn on the GPU.
//
// tf.dropout draws its mask with tf.randomUniform, which fills a JavaScript array and uploads it: on a GPU that is the
// slowest part of a training step. Here each element's keep/drop decision is a hash of (seed, element index), computed
// in the shader, so nothing crosses the bus, and the same seed gives the same mask (a run repeats). The backward pass
// recomputes the mask from the same seed instead of storing it: dx = dropout(dy) with the forward pass's seed.
// ---------------------------------------------------------------------------------------------------------------------

/** The kernel's name in tfjs's registry. */
export const DROPOUT_KERNEL = "BuildGptDropout";

interface DropoutAttrs extends tf.NamedAttrMap {
  p: number;
  seed: number;
}

// lowbias32 (Chris Wellons' integer hash): a bijection on u32 with good avalanche; shared by the shader and mask().
const HASH_WGSL = `
  fn buildGptHash(v : u32) -> u32 {
    var x = v;
    x = x ^ (x >> 16u);
    x = x * 0x7feb352du;
    x = x ^ (x >> 15u);
    x = x * 0x846ca68bu;
    x = x ^ (x >> 16u);
    return x;
  }`;

function hash(v: number): number {
  let x = v >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The two keys a seed gives: the element's uniform number is hash(hash(index + k1) ^ k2). */
const keys = (seed: number) => [hash(seed), hash((seed ^ 0x9e3779b9) >>> 0)];

/**
 * The mask the GPU kernel draws for `size` elements: 0 for a dropped element, 1/(1−p) (in float32) for a kept one.
 * A JavaScript copy of the shader's arithmetic, for tests that check the kernel element by element.
 */
export function dropoutMask(size: number, p: number, seed: number): Float32Array {
  const [k1, k2] = keys(seed);
  const threshold = Math.fround(p);
  const scale = Math.fround(1 / (1 - p));
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const u = (hash((hash((i + k1) >>> 0) ^ k2) >>> 0) >>> 8) / 16777216; // 24 bits: exact in float32
    mask[i] = u >= threshold ? scale : 0;
  }
  return mask;
}

/** The shader program, in the form tfjs's webgpu backend runs (see its unary_op_webgpu.js). */
class DropoutProgram {
  variableNames = ["x"];
  outputShape: number[];
  shaderKey = "buildGptDropout";
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  size = true;
  uniforms = "k1 : u32, k2 : u32, p : f32, scale : f32,";

  constructor(shape: number[], util: { flatDispatchLayout(shape: number[]): { x: number[] }; computeDispatch(layout: { x: number[] }, shape: number[], wg: [number, number, number]): [number, number, number] }) {
    this.outputShape = shape;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      ${HASH_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let h = buildGptHash(buildGptHash(u32(index) + uniforms.k1) ^ uniforms.k2);
          let u = f32(h >> 8u) / 16777216.0;
          let x = getXByOutputIndex(index);
          setOutputAtIndex(index, select(0.0, x * uniforms.scale, u >= uniforms.p));
        }
      }`;
  }
}

let dropoutRegistered = false;

/** Registers the dropout kernel for the webgpu backend and its gradient; idempotent. */
function registerDropoutKernel(): void {
  if (dropoutRegistered) return;
  const { webgpu_util: util } = require("@tensorflow/tfjs-backend-webgpu") as { webgpu_util: ConstructorParameters<typeof DropoutProgram>[1] };
  tf.registerKernel({
    kernelName: DROPOUT_KERNEL,
    backendName: "webgpu",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const { p, seed } = attrs as unknown as DropoutAttrs;
      const [k1, k2] = keys(seed);
      const uniforms = [
        { type: "uint32", data: [k1] }, { type: "uint32", data: [k2] },
        { type: "float32", data: [p] }, { type: "float32", data: [1 / (1 - p)] },
      ];
      const gpuBackend = backend as unknown as { runWebGPUProgram(p: DropoutProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: unknown[]): tf.TensorInfo };
      return gpuBackend.runWebGPUProgram(new DropoutProgram(x.shape, util), [x], "float32", uniforms);
    },
  });
  tf.registerGradient({
    kernelName: DROPOUT_KERNEL,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(DROPOUT_KERNEL, { x: dy as tf.Tensor }, attrs as DropoutAttrs) as tf.Tensor }),
  });
  dropoutRegistered = true;
}

/**
 * Dropout on the webgpu backend: zeroes each element with probability p (decided by a hash of `seed` and the element's
 * index, on the GPU) and scales the rest by 1/(1−p). Differentiable. Only for the webgpu backend.
 */
export function gpuDropout<T extends tf.Tensor>(x: T, p: number, seed: number): T {
  if (tf.getBackend() !== "webgpu") throw new Error(`gpuDropout runs on the webgpu backend only (this is ${tf.getBackend()}): use tf.dropout.`);
  if (x.dtype !== "float32") throw new Error(`gpuDropout: x must be float32, got ${x.dtype}.`);
  const attrs: DropoutAttrs = { p, seed: seed >>> 0 };
  return tf.engine().runKernel(DROPOUT_KERNEL, { x }, attrs) as T;
}
