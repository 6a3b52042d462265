/**
 * What every kernel of ours on TensorFlow.js's WebAssembly backend uses: the kernel function's shape, views of a
 * tensor's memory in the WebAssembly heap, and replacing one of the backend's kernels while keeping the original for
 * the cases the replacement does not take.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { nativeKernels, type NativeKernels } from "./native-kernels";

export type TensorInfo = tf.TensorInfo;
export type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: Record<string, unknown> }) => TensorInfo | TensorInfo[];

export const WASM = "wasm";

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A float32 tensor's values, a view of the heap (taken after any allocation: growing the heap moves it). */
export const floats = (backend: BackendWasm, x: TensorInfo) => backend.typedArrayFromHeap(x) as Float32Array;
export const ints = (backend: BackendWasm, x: TensorInfo) => backend.typedArrayFromHeap(x) as Int32Array;

/** The backend's kernel called `name`, or an error naming the package it should come from. */
export function kernelConfig(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, WASM);
  if (!config) throw new Error(`tfjs-backend-wasm has no ${name} kernel: is @tensorflow/tfjs-backend-wasm 4.22.0 installed?`);
  return config;
}

/** Calls the backend's kernel `name` (one output). */
export function callKernel(name: string, args: Parameters<KernelFunc>[0]): TensorInfo {
  return (kernelConfig(name).kernelFunc as unknown as KernelFunc)(args) as TensorInfo;
}

/** Replaces the backend's kernel `name` with the one `make` builds around the original (which it may call). */
export function reroute(name: string, make: (original: KernelFunc) => KernelFunc): void {
  const config = kernelConfig(name);
  const original = config.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel(name, WASM);
  tf.registerKernel({ ...config, kernelFunc: make(original) as unknown as tf.KernelFunc });
}

/** Registers a kernel of our own on the wasm backend. */
export function registerWasmKernel(kernelName: string, kernelFunc: KernelFunc): void {
  tf.registerKernel({ kernelName, backendName: WASM, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** Runs one of our kernels (tf.engine().runKernel, typed for a single tensor output). */
export const run = <T extends tf.Tensor>(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs) as T;

/** The native kernels, inside a kernel that runs only with them on (it was chosen while they were). */
export function requireNative(): NativeKernels {
  const native = nativeKernels();
  if (!native) throw new Error("A native kernel ran with the native kernels off: switch them with withNativeKernels() between steps, not inside one.");
  return native;
}
