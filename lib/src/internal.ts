/**
 * @build-gpt/lib/internal — what the tests, the benchmark and the commands use that a learner does not: the native
 * kernels' switches, the pieces of the progress display, the interrupt watch, fast mode's variable name, the commands'
 * argument parser, the train command as a function, and the GPU engine's start.
 */
export { nativeKernels, nativeKernelsStatus, useNativeKernels, withNativeIsa, withNativeKernels, type NativeIsa, type NativeKernels } from "./engine/native-kernels";
export { causalBias, AttentionHooks } from "./nn/attention";
export { checkSizes } from "./nn/module";
export { watchInterrupts, type InterruptWatch } from "./train/interrupt";
export { progressLine, tokensPerSecond, timeLeftMs, formatDuration, formatRate } from "./progress/status";
export { Throttle } from "./progress/throttle";
export { TerminalBar, barText, isCI, type TerminalBarOptions, type TerminalStream } from "./progress/terminal";
export { FAST_MODE_VAR } from "./notebook/fast-mode";
export { inNotebook } from "./notebook/display";
export { envFlag, envPositiveInt } from "./env";
export { NATIVE_DROPOUT, nativeDropout } from "./engine/wasm-kernels";
export { DROPOUT_KERNEL, dropoutMask, gpuDropout, vulkanProblem } from "./engine/webgpu";
export { fusedCausalAttention, fusedCausalSoftmax, fusedCrossEntropy, fusedLayerNorm, fusedLinear, useFusedKernels, withFusedKernels } from "./engine/fused-kernels";
export { helpText, parseCommand, runMain, UsageError, type CommandSpec, type OptionSpec } from "./cli/args";
export { runTrain, TRAIN_COMMAND, type TrainHooks, type TrainOutcome } from "./cli/train";
export { adapterName, startWebGPU, type AdapterDescription, type WebGPUStart } from "./engine/webgpu";
