/**
 * @build-gpt/lib — the GPT of "Let's build GPT: from scratch, in code, spelled out", in TypeScript on TensorFlow.js.
 * The public API, in the order the lessons meet it. Helpers that only the tests and the commands use are in
 * `@build-gpt/lib/internal`.
 */

// The engine and a seeded random source.
export { initBackend, type BackendInfo, type BackendName, type BackendOptions, type Workload } from "./engine/backend";
export { Rng } from "./random";

// Lesson 1: the data.
export { loadTinyShakespeare, defaultDataDir, TINY_SHAKESPEARE, type LoadOptions } from "./data/dataset";
export { CharTokenizer } from "./data/tokenizer";
export { trainValSplit, getBatch, type Split, type Batch } from "./data/batches";

// Lesson 2: modules, the bigram model, generation, training.
export { Module, type InitOptions } from "./nn/module";
export { Embedding, Linear, Dropout, type LinearOptions } from "./nn/layers";
export { crossEntropy } from "./nn/loss";
export { LanguageModel } from "./models/language-model";
export { BigramLanguageModel } from "./models/bigram";
export { generate, streamTokens, nextTokenProbs, type GenerateOptions } from "./models/generate";
export { AdamW, type AdamWOptions } from "./train/adamw";
export { train, trainStep, estimateLoss, TrainingDiverged, type TrainOptions, type TrainResult, type EvalPoint, type BatchShape } from "./train/trainer";
export { TrainingInterrupted } from "./train/interrupt";

// Lesson 3: the averaging trick.
export { xbowLoop, xbowMatmul, xbowSoftmax, averagingWeights, softmaxWeights } from "./nn/averaging";
export { causalMask, causalSoftmax } from "./nn/attention";

// Lesson 4: self-attention.
export { Head, scaledAffinities, type HeadOptions, type AttentionHook } from "./nn/attention";
export { SingleHeadLanguageModel, type SingleHeadConfig } from "./models/single-head";
export { attentionMaps, type AttentionMap } from "./models/attention-maps";

// Lesson 5: the transformer block.
export { MultiHeadAttention, CausalSelfAttention, headSizeOf, type SelfAttention, type AttentionOptions } from "./nn/multi-head";
export { FeedForward, type FeedForwardOptions } from "./nn/feed-forward";
export { LayerNorm } from "./nn/layer-norm";
export { Block, type BlockOptions } from "./nn/block";
export { MultiHeadLanguageModel, type MultiHeadConfig } from "./models/gpt";
export { LADDER, type LadderStep } from "./ladder";
export { CONFIGS, configNamed, buildModel, gptConfigOf, withOverrides, workloadOf, type ModelConfiguration, type ConfigSettings, type ModelKind } from "./configs";

// Lesson 6: scaling up.
export { GPTLanguageModel, validateConfig, type GPTConfig } from "./models/gpt";
export { saveModelDir, loadModelDir, type LoadedModelDir, type LoadModelDirOptions, type SaveModelDirOptions } from "./io/model-dir";

// In notebooks: progress, plots, tables, fast mode.
export { liveProgress, type LiveProgressOptions } from "./progress/notebook";
export { terminalProgress } from "./progress/terminal";
export { type TrainStatus, type TrainProgress } from "./progress/status";
export { isFastMode, lessonSettings, type TrainingBudget } from "./notebook/fast-mode";
export { plotHtml, plotBundle, showPlot, lossCurvesFigure, type Figure, type LossSeries } from "./notebook/plot";
export { tableHtml, showTable, type Tabular } from "./notebook/table";
export { heatmapFigure, attentionFigure, visibleChar, type HeatmapPanel, type HeatmapOptions, type AttentionPanel } from "./notebook/heatmap";

// Exercises: checks for the learner's code (exercises.lesson1, …) and the placeholder an exercise cell starts with.
export * as exercises from "./exercises";
export { todo } from "./exercises/verdict";
