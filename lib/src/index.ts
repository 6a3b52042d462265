/**
 * @build-gpt/lib — the GPT of "Let's build GPT: from scratch, in code, spelled out", in TypeScript on TensorFlow.js.
 * Each lesson imports what earlier lessons built from here.
 */
export { initBackend, type BackendInfo, type BackendName } from "./engine/backend";
export { nativeKernels, nativeKernelsStatus, useNativeKernels, withNativeKernels, type NativeKernels } from "./engine/native-kernels";
export { Rng } from "./random";
export { loadTinyShakespeare, defaultDataDir, TINY_SHAKESPEARE, type LoadOptions } from "./data/dataset";
export { CharTokenizer } from "./data/tokenizer";
export { trainValSplit, getBatch, type Split, type Batch } from "./data/batches";
export { Module } from "./nn/module";
export { Embedding, Linear, Dropout, type LinearOptions } from "./nn/layers";
export { Head, causalMask, type HeadOptions } from "./nn/attention";
export { crossEntropy } from "./nn/loss";
export { LanguageModel } from "./models/language-model";
export { BigramLanguageModel } from "./models/bigram";
export { generate, streamTokens, nextTokenProbs, type GenerateOptions } from "./models/generate";
export { GPTLanguageModel, MultiHeadLanguageModel, validateConfig, type GPTConfig, type MultiHeadConfig } from "./models/gpt";
export { LayerNorm } from "./nn/layer-norm";
export { MultiHeadAttention, CausalSelfAttention, type SelfAttention, type AttentionOptions } from "./nn/multi-head";
export { FeedForward, type FeedForwardOptions } from "./nn/feed-forward";
export { Block, type BlockOptions } from "./nn/block";
export { AdamW, type AdamWOptions } from "./train/adamw";
export { train, trainStep, estimateLoss, type TrainOptions, type TrainResult, type EvalPoint, type BatchShape } from "./train/trainer";
export { TrainingInterrupted, watchInterrupts, type InterruptWatch } from "./train/interrupt";
export { progressLine, tokensPerSecond, timeLeftMs, formatDuration, formatRate, type TrainStatus, type TrainProgress } from "./progress/status";
export { Throttle } from "./progress/throttle";
export { TerminalBar, terminalProgress, barText, isCI, type TerminalBarOptions, type TerminalStream } from "./progress/terminal";
export { liveProgress, type LiveProgressOptions } from "./progress/notebook";
export { LADDER, type LadderStep } from "./ladder";
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type LoadCheckpointOptions } from "./io/checkpoint";
export { isFastMode, lessonSettings, FAST_MODE_VAR, type TrainingBudget } from "./notebook/fast-mode";
export { plotHtml, showPlot, lossCurvesFigure, type Figure, type LossSeries } from "./notebook/plot";
export { inNotebook } from "./notebook/display";
export { tableHtml, showTable, type Tabular } from "./notebook/table";
export { scaledAffinities, causalSoftmax, type AttentionHook } from "./nn/attention";
export { xbowLoop, xbowMatmul, xbowSoftmax, averagingWeights, softmaxWeights } from "./nn/averaging";
export { SingleHeadLanguageModel, type SingleHeadConfig } from "./models/single-head";
export { attentionMaps, type AttentionMap } from "./models/attention-maps";
export { heatmapFigure, attentionFigure, visibleChar, type HeatmapPanel, type HeatmapOptions, type AttentionPanel } from "./notebook/heatmap";
export { type AttentionWeightsSource } from "./models/language-model";
