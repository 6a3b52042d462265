/**
 * @build-gpt/lib — the GPT of "Let's build GPT: from scratch, in code, spelled out", in TypeScript on TensorFlow.js.
 * The public API, in the order the lessons meet it. The registry of configurations is one namespace
 * (`configs.named("gpt-py")`), the exercises' checks another (`exercises.lesson2`). What only the tests, the benchmark
 * and the commands use is in `@build-gpt/lib/internal`.
 */

// The engine and a seeded random source.
export { initBackend, type BackendInfo } from "./engine/backend";
export { Rng } from "./random";

// Lesson 1: the data.
export { loadTinyShakespeare } from "./data/dataset";
export { CharTokenizer } from "./data/tokenizer";
export { trainValSplit, getBatch } from "./data/batches";

// Lesson 2: modules, the bigram model, generation, training.
export { Module } from "./nn/module";
export { Embedding, Linear, Dropout } from "./nn/layers";
export { crossEntropy } from "./nn/loss";
export { LanguageModel } from "./models/language-model";
export { BigramLanguageModel } from "./models/bigram";
export { generate, streamTokens, nextTokenProbs, type GenerateOptions } from "./models/generate";
export { AdamW, type AdamWOptions } from "./train/adamw";
export { trainStep, TrainingDiverged } from "./train/step";
export { train, estimateLoss, wholeLoss, type TrainOptions, type TrainResult, type EvalPoint } from "./train/trainer";
export { TrainingInterrupted } from "./train/interrupt";

// Lesson 3: the averaging trick.
export { xbowLoop, xbowMatmul, xbowSoftmax, averagingWeights } from "./nn/averaging";
export { causalMask, causalSoftmax } from "./nn/attention";

// Lesson 4: self-attention.
export { Head, scaledAffinities } from "./nn/attention";
export { attentionMaps } from "./models/attention-maps";

// Lesson 5: the transformer block.
export { MultiHeadAttention, CausalSelfAttention } from "./nn/multi-head";
export { FeedForward } from "./nn/feed-forward";
export { LayerNorm } from "./nn/layer-norm";
export { Block } from "./nn/block";
export { GPTLanguageModel, type GPTConfig } from "./models/gpt";
export * as configs from "./configs";

// Lessons 6 and 7: scaling up, checkpoints.
export { saveModelDir, loadModelDir } from "./io/model-dir";
export { saveCheckpoint, loadCheckpoint } from "./io/checkpoint";

// In notebooks: progress, plots, tables, fast mode.
export { liveProgress } from "./progress/notebook";
export { terminalProgress } from "./progress/terminal";
export { lessonSettings } from "./notebook/fast-mode";
export { showPlot, lossCurvesFigure } from "./notebook/plot";
export { showTable } from "./notebook/table";
export { heatmapFigure, attentionFigure } from "./notebook/heatmap";

// The lessons' instruments: the proof that yours is the library's, a shape trace, costs, a timer, the results table.
export * as lab from "./lab";

// Exercises: checks for the learner's code (exercises.lesson1, …) and the placeholder an exercise cell starts with.
export * as exercises from "./exercises";
export { todo } from "./exercises/verdict";
