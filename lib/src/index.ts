/**
 * @build-gpt/lib — the GPT of "Let's build GPT: from scratch, in code, spelled out", in TypeScript on TensorFlow.js.
 * Each lesson imports what earlier lessons built from here.
 */
export { initBackend, type BackendInfo, type BackendName } from "./engine/backend";
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
export { generate, type GenerateOptions } from "./models/generate";
export { AdamW, type AdamWOptions } from "./train/adamw";
export { train, trainStep, estimateLoss, type TrainOptions, type TrainResult, type EvalPoint, type BatchShape } from "./train/trainer";
export { isFastMode, lessonSettings, FAST_MODE_VAR, type TrainingBudget } from "./notebook/fast-mode";
export { plotHtml, showPlot, lossCurvesFigure, type Figure, type LossSeries } from "./notebook/plot";
export { tableHtml, showTable, type Tabular } from "./notebook/table";
