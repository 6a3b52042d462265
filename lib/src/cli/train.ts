#!/usr/bin/env node
/**
 * npm run train -- --config NAME [--key value ...] [--data FILE] [--out DIR] [--resume] [--seed S]
 * Trains a configuration of the registry (./configs) on tiny Shakespeare or any UTF-8 text, printing each evaluation;
 * with --out, keeps the model (a model directory, ../io/model-dir) each time val improves, and on Ctrl-C saves where it
 * stands and exits with status 130; --resume continues from there, exactly as the uninterrupted run would have.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CONFIG_KEYS, CONFIGS, buildModel, configNamed, describeKey, withOverrides, workloadOf, type ConfigSettings, type ModelConfiguration } from "../configs";
import { trainValSplit } from "../data/batches";
import { loadTinyShakespeare } from "../data/dataset";
import { CharTokenizer } from "../data/tokenizer";
import { initBackend } from "../engine/backend";
import { dropoutStreams, loadModelDir, readModelDirConfig, saveModelDir } from "../io/model-dir";
import { checkTextLength, readTrainingText } from "../io/text-file";
import { GPTLanguageModel } from "../models/gpt";
import type { LanguageModel } from "../models/language-model";
import { terminalProgress } from "../progress/terminal";
import { Rng } from "../random";
import { AdamW } from "../train/adamw";
import { TrainingInterrupted } from "../train/interrupt";
import { train } from "../train/trainer";
import type { EvalPoint } from "../train/types";
import { helpText, kebab, parseCommand, runMain, UsageError, type CommandSpec } from "./args";

export const TRAIN_COMMAND: CommandSpec = {
  name: "train",
  summary: "Trains a configuration on tiny Shakespeare or any UTF-8 text; --out keeps the best model, --resume continues.",
  options: {
    config: { type: "string", arg: "NAME", help: "the configuration to train (see below); with --resume, the saved one" },
    data: { type: "string", arg: "FILE", help: "a UTF-8 text file to train on (default: tiny Shakespeare); its characters are the vocabulary" },
    out: { type: "string", arg: "DIR", help: "the model directory: saved at each evaluation where val improves, and on Ctrl-C" },
    resume: { type: "boolean", help: "continue the run saved in --out DIR (optimizer, step and random state restored)" },
    seed: { type: "count", arg: "S", help: "the random seed of the weights, batches and dropout (default 1337)" },
  },
  overrides: true,
};

/** The keys that change the model itself: they cannot change on --resume. */
const MODEL_KEYS: (keyof ConfigSettings)[] = ["model", "blockSize", "nEmbd", "nHead", "nLayer", "dropout", "feedForward", "layerNorm", "attention", "init"];

function fullHelp(): string {
  const configs = CONFIGS.map((c) => `  ${c.name.padEnd(18)} ${c.title}${c.reportedVal ? ` (val ${c.reportedVal}, ${c.source})` : ""}`);
  const keys = CONFIG_KEYS.map((k) => `  --${kebab(k)} ${describeKey(k)}`);
  return [helpText(TRAIN_COMMAND), "", "Configurations:", ...configs, "", "Configuration keys (override any: --max-iters 500):", ...keys].join("\n");
}

/** What a run saves beside the model so that --resume continues it exactly. */
interface TrainingState {
  configName: string;
  settings: ConfigSettings;
  seed: number;
  data: string | null;
  /** Steps completed. */
  step: number;
  bestVal: number;
  history: EvalPoint[];
  /** The batch rng's state and each Dropout's, after `step` (before the evaluation at `step`). */
  rng: number;
  dropout: number[];
  saved: "val improved" | "interrupted";
}

export interface TrainHooks {
  /** Stops the run at the next step boundary, as Ctrl-C does (tests). */
  signal?: AbortSignal;
  /** Called after each step. */
  onStep?: (step: number) => void;
  /** Listen for SIGINT (the command does; tests use `signal`). */
  interruptible?: boolean;
  log?: (line: string) => void;
}

export interface TrainOutcome {
  history: EvalPoint[];
  stepLosses: number[];
  /** True when stopped by Ctrl-C or the signal (the command then exits with 130). */
  interrupted: boolean;
  model: LanguageModel;
}

async function loadText(data: string | null): Promise<{ text: string; source: string }> {
  if (data === null) return { text: await loadTinyShakespeare(), source: "tiny Shakespeare" };
  return { text: readTrainingText(data), source: data };
}

/** Runs the train command on `argv`; the caller disposes `model` of the outcome. */
export async function runTrain(argv: string[], hooks: TrainHooks = {}): Promise<TrainOutcome | undefined> {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const args = parseCommand(argv, TRAIN_COMMAND);
  if (args.help) {
    log(fullHelp());
    return undefined;
  }
  const out = args.values.out as string | undefined;
  const resume = args.values.resume === true;
  if (resume && !out) throw new UsageError("--resume continues the run saved in a model directory: give it with --out DIR.");

  if (out && !resume && existsSync(path.join(out, "config.json"))) {
    const held = readModelDirConfig(out).training as TrainingState | undefined;
    throw new UsageError(`${out} already holds a model${held ? ` (${held.configName}, step ${held.step}, best val ${held.bestVal.toFixed(4)})` : ""}: add --resume to continue it, or choose another --out (or delete it) to start afresh.`);
  }
  let saved: TrainingState | undefined;
  let config: ModelConfiguration;
  if (resume) {
    const dirConfig = readModelDirConfig(out!);
    saved = dirConfig.training as TrainingState | undefined;
    if (!saved) throw new Error(`${out} holds a model but no training state (it was not written by npm run train); it cannot be resumed. Sample it, or train into a new --out.`);
    if (args.values.config !== undefined && args.values.config !== saved.configName) {
      throw new UsageError(`--config ${args.values.config} differs from the run saved in ${out} (${saved.configName}); leave --config out to resume it.`);
    }
    const changed = MODEL_KEYS.filter((k) => k in args.overrides && args.overrides[k] !== saved!.settings[k]);
    if (changed.length) throw new UsageError(`--resume cannot change the model: ${changed.map((k) => `--${kebab(k)}`).join(", ")} ${changed.length > 1 ? "differ" : "differs"} from the saved run. Train a new run into another --out.`);
    config = withOverrides({ ...configNamed(saved.configName), ...saved.settings }, args.overrides);
  } else {
    if (args.values.config === undefined) throw new UsageError(`Choose a configuration with --config NAME: ${CONFIGS.map((c) => c.name).join(", ")}.`);
    config = withOverrides(configNamed(args.values.config as string), args.overrides);
  }
  if (out && config.model !== "gpt") {
    throw new UsageError(`--out saves a GPTLanguageModel (gpt.py's model, safetensors that PyTorch reads); ${config.name} builds a ${config.model} model. Train without --out, or choose a gpt configuration (${CONFIGS.filter((c) => c.model === "gpt").map((c) => c.name).join(", ")}).`);
  }
  if (resume && args.values.seed !== undefined && args.values.seed !== saved!.seed) throw new UsageError(`--seed differs from the saved run's (${saved!.seed}); leave it out to resume.`);
  const seed = saved?.seed ?? (args.values.seed as number | undefined) ?? 1337;
  const data = (args.values.data as string | undefined) ?? saved?.data ?? null;

  const { text, source } = await loadText(data);
  checkTextLength(source, [...text].length, config.blockSize);
  const backend = await initBackend(undefined, { workload: workloadOf(config) });
  log(`${backend.description}\nconfig ${config.name}: ${CONFIG_KEYS.map((k) => `${k} ${config[k]}`).join(", ")}`);

  const rng = new Rng(seed);
  let model: LanguageModel;
  let tokenizer: CharTokenizer;
  let optimizerState: ReturnType<typeof loadModelDir>["optimizer"];
  if (resume) {
    const loaded = loadModelDir(out!, { rng: new Rng(seed) });
    ({ model, tokenizer } = loaded);
    optimizerState = loaded.optimizer;
    rng.setState(saved!.rng);
    const streams = dropoutStreams(model);
    if (streams.length !== saved!.dropout.length) throw new Error(`${out}: the saved run has ${saved!.dropout.length} dropout streams, the model ${streams.length}.`);
    streams.forEach((s, i) => s.setState(saved!.dropout[i]));
  } else {
    tokenizer = CharTokenizer.fromText(text);
    model = buildModel(config, tokenizer.vocabSize, rng);
  }
  const split = trainValSplit(tokenizer.encode(text));
  const optimizer = new AdamW(model.parameters(), { lr: config.learningRate, betas: [config.beta1, config.beta2], weightDecay: config.weightDecay });
  if (optimizerState) optimizer.loadState(optimizerState);
  const startStep = saved?.step ?? 0;
  log(`${source}: ${text.length} characters, vocabulary of ${tokenizer.vocabSize}; ${model.numParameters()} parameters; steps ${startStep + 1}..${config.maxIters}`);

  // The random state after the last completed step: what a checkpoint must hold to resume exactly there.
  let point = { step: startStep, rng: rng.getState(), dropout: dropoutStreams(model).map((s) => s.getState()) };
  let bestVal = saved?.bestVal ?? Infinity;
  const history: EvalPoint[] = [...(saved?.history ?? []).filter((p) => p.step < startStep)];
  const save = async (why: TrainingState["saved"]) => {
    const training: TrainingState = {
      configName: config.name, settings: Object.fromEntries(CONFIG_KEYS.map((k) => [k, config[k]])) as unknown as ConfigSettings,
      seed, data, step: point.step, bestVal, history, rng: point.rng, dropout: point.dropout, saved: why,
    };
    await saveModelDir(out!, model as GPTLanguageModel, tokenizer, { optimizer, training: training as unknown as Record<string, unknown> });
  };
  const signal = hooks.signal;
  try {
    const result = await train(model, optimizer, split, {
      batchSize: config.batchSize, blockSize: config.blockSize, maxIters: config.maxIters, evalInterval: config.evalInterval,
      evalIters: config.evalIters, startStep, rng, signal, interruptible: hooks.interruptible ?? false,
      progress: terminalProgress(config.name),
      onStep: (step) => {
        point = { step, rng: rng.getState(), dropout: dropoutStreams(model).map((s) => s.getState()) };
        hooks.onStep?.(step);
      },
      onEval: async (p) => {
        history.push(p);
        const improved = p.val < bestVal;
        if (improved) bestVal = p.val;
        if (improved && out) await save("val improved");
        log(`step ${p.step}: train ${p.train.toFixed(4)}, val ${p.val.toFixed(4)}${improved && out ? `, saved to ${out}` : ""}`);
      },
    });
    log(`done: best val ${bestVal.toFixed(4)}${out ? `; sample it: npm run sample -- --out ${out}` : ""}`);
    return { history, stepLosses: result.stepLosses, interrupted: false, model };
  } catch (err) {
    if (!(err instanceof TrainingInterrupted)) {
      model.dispose();
      throw err;
    }
    if (out) await save("interrupted");
    log(`interrupted at step ${err.step}${out ? `; saved to ${out}; continue with: npm run train -- --out ${out} --resume` : " (no --out, nothing saved)"}`);
    return { history, stepLosses: err.result.stepLosses, interrupted: true, model };
  } finally {
    optimizer.dispose();
  }
}

async function main(): Promise<void> {
  const outcome = await runTrain(process.argv.slice(2), { interruptible: true });
  if (!outcome) return;
  outcome.model.dispose();
  if (tf.memory().numTensors > 0 && process.env.GPT_DEBUG_LEAKS) console.error(`tensors left: ${tf.memory().numTensors}`);
  if (outcome.interrupted) process.exitCode = 130;
}

if (require.main === module) runMain(main);

