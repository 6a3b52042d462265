/**
 * @build-gpt/lib/internal — what the tests, the benchmark and the commands use that a learner does not: the engine's
 * switches and kernels, the lower-level models, the model directory's parts, the pieces of the progress display, the
 * interrupt watch, fast mode's variable name, the commands' argument parser, the train command as a function, and the
 * GPU engine's start.
 */
export * from "./index";
export { type BackendName, type BackendOptions, type Workload } from "./engine/backend";
export { nativeKernels, nativeKernelsStatus, useNativeKernels, withNativeIsa, withNativeKernels, type NativeIsa, type NativeKernels } from "./engine/native-kernels";
export { fusedCausalAttention, fusedCausalSoftmax, fusedCrossEntropy, fusedLayerNorm, fusedLinear, useFusedKernels, withFusedKernels } from "./engine/fused-kernels";
export { nativeDropout } from "./engine/native-routes";
export { EngineOutOfMemory, WASM_HEAP_LIMIT } from "./engine/wasm-repairs";
export { DROPOUT_KERNEL, dropoutMask, gpuDropout, vulkanProblem } from "./engine/webgpu";
export { defaultDataDir, TINY_SHAKESPEARE, type LoadOptions } from "./data/dataset";
export { type Split, type Batch } from "./data/batches";
export { type InitOptions, checkSizes } from "./nn/module";
export { type LinearOptions } from "./nn/layers";
export { causalBias, AttentionHooks, type HeadOptions, type AttentionHook } from "./nn/attention";
export { headSizeOf, type SelfAttention, type AttentionOptions } from "./nn/multi-head";
export { type FeedForwardOptions } from "./nn/feed-forward";
export { type BlockOptions } from "./nn/block";
export { softmaxWeights } from "./nn/averaging";
export { SingleHeadLanguageModel, type SingleHeadConfig } from "./models/single-head";
export { MultiHeadLanguageModel, validateConfig, type MultiHeadConfig } from "./models/gpt";
export { type AttentionMap } from "./models/attention-maps";
export { readModelDirConfig, checkModelDirTarget, MODEL_DIR_FORMAT, type LoadedModelDir, type LoadModelDirOptions, type SaveModelDirOptions, type ModelDirConfig } from "./io/model-dir";
export { dropoutStreams, optimizerFor, randomState, readTrainingState, textSha256, type Checkpoint, type TrainingState } from "./io/checkpoint";
export { commitFiles, settle, JOURNAL } from "./io/dir-commit";
export { lockDirectory, lockHolder, LOCK_FILE, type LockHolder, type RunLock } from "./io/run-lock";
export { decodeSafetensors, encodeSafetensors, type NamedArray } from "./io/safetensors";
export { readResults, recordResults, resultOf, RESULTS_FILE, type Result } from "./results";
export { clipGradNorm, EngineError, type StepOptions } from "./train/step";
export { checkStepMemory, StepTooLarge } from "./train/memory";
export { learningRate, checkSchedule, type LrSchedule } from "./train/schedule";
export { watchInterrupts, type InterruptWatch, type Signal } from "./train/interrupt";
export { type BatchShape, type AdamWEntry, type AdamWHyper } from "./train/types";
export { progressLine, tokensPerSecond, timeLeftMs, fractionDone, formatDuration, formatRate, type TrainStatus, type TrainProgress } from "./progress/status";
export { Throttle } from "./progress/throttle";
export { TerminalBar, barText, isCI, type TerminalBarOptions, type TerminalStream } from "./progress/terminal";
export { type LiveProgressOptions } from "./progress/notebook";
export { FAST_MODE_VAR, isFastMode, type TrainingBudget } from "./notebook/fast-mode";
export { inNotebook } from "./notebook/display";
export { plotHtml, plotBundle, type Figure, type LossSeries } from "./notebook/plot";
export { tableHtml, type Tabular } from "./notebook/table";
export { visibleChar, type HeatmapPanel, type HeatmapOptions, type AttentionPanel } from "./notebook/heatmap";
export { envFlag, envPositiveInt } from "./env";
export { helpText, parseCommand, runMain, UsageError, type CommandSpec, type OptionSpec } from "./cli/args";
export { runTrain, TRAIN_COMMAND, type TrainHooks, type TrainOutcome } from "./cli/train";
export { adapterName, startWebGPU, type AdapterDescription, type WebGPUStart } from "./engine/webgpu";
