#!/usr/bin/env node
/**
 * npm run train -- --config NAME [--key value ...] [--data FILE] [--out DIR] [--resume] [--seed S]
 * Trains a configuration of the registry (../configs) on tiny Shakespeare or any UTF-8 text, printing each evaluation;
 * with --out, keeps the model (a checkpoint: ../io/checkpoint) each time val improves, and on Ctrl-C (or SIGTERM,
 * SIGHUP) saves where it stands and exits with 128 + the signal's number; --resume continues from there, exactly as
 * the run that was never stopped would have. The run holds a lock on --out for its whole life.
 */
import * as tf from "@tensorflow/tfjs";
import * as configs from "../configs";
import { trainValSplit, type Split } from "../data/batches";
import { loadTinyShakespeare } from "../data/dataset";
import { CharTokenizer } from "../data/tokenizer";
import { initBackend } from "../engine/backend";
import { loadCheckpoint, optimizerFor, randomState, readTrainingState, saveCheckpoint, textSha256, type TrainingState } from "../io/checkpoint";
import { checkModelDirTarget } from "../io/model-dir";
import { lockDirectory, type RunLock } from "../io/run-lock";
import { checkTextLength, readTrainingText } from "../io/text-file";
import type { GPTLanguageModel } from "../models/gpt";
import type { LanguageModel } from "../models/language-model";
import { terminalProgress } from "../progress/terminal";
import { Rng } from "../random";
import type { AdamW } from "../train/adamw";
import { TrainingInterrupted, type Signal } from "../train/interrupt";
import { train } from "../train/trainer";
import type { EvalPoint } from "../train/types";
import { helpText, kebab, parseCommand, runMain, UsageError, type CommandSpec, type Parsed } from "./args";

export const TRAIN_COMMAND = {
  name: "train",
  summary: "Trains a configuration on tiny Shakespeare or any UTF-8 text; --out keeps the best model, --resume continues.",
  options: {
    config: { type: "string", arg: "NAME", help: "the configuration to train (see below); with --resume, the saved one" },
    data: { type: "path", arg: "FILE", help: "a UTF-8 text file to train on (default: tiny Shakespeare); its characters are the vocabulary" },
    out: { type: "path", arg: "DIR", help: "the model directory: saved at each evaluation where val improves, and on Ctrl-C" },
    resume: { type: "boolean", help: "continue the run saved in --out DIR (optimizer, step and random state restored)" },
    seed: { type: "count", arg: "S", help: "the random seed of the weights, batches and dropout (default 1337)" },
  },
  overrides: true,
} as const satisfies CommandSpec;

type Args = Parsed<typeof TRAIN_COMMAND>;

function fullHelp(): string {
  const list = configs.all.map((c) => `  ${c.name.padEnd(18)} ${c.title}${c.reportedVal ? ` (val ${c.reportedVal}, ${c.source})` : ""}`);
  const keys = configs.KEYS.map((k) => `  --${kebab(k)} ${configs.describeKey(k)}`);
  return [helpText(TRAIN_COMMAND), "", "Configurations:", ...list, "", "Configuration keys (override any: --max-iters 500):", ...keys].join("\n");
}

export interface TrainHooks {
  /** Stops the run at the next step boundary, as Ctrl-C does (tests). */
  signal?: AbortSignal;
  /** Called after each step. */
  onStep?: (step: number) => void;
  /** Listen for SIGINT, SIGTERM and SIGHUP (the command does; tests use `signal`). */
  interruptible?: boolean;
  log?: (line: string) => void;
}

export interface TrainOutcome {
  history: EvalPoint[];
  stepLosses: number[];
  /** True when stopped by a signal or the AbortSignal. */
  interrupted: boolean;
  /** The process signal that stopped it (the command then exits with 128 + its number). */
  stoppedBy?: Signal;
  model: LanguageModel;
}

/** What the command line asks for, checked before anything is trained or written. */
interface Plan {
  config: configs.Config;
  seed: number;
  /** The text's path; null: tiny Shakespeare. */
  data: string | null;
  out?: string;
  /** The saved run, with --resume. */
  saved?: TrainingState;
}

/** The configuration to train: the registry's, or with --resume the saved one; with the command line's overrides. */
function chooseConfig(args: Args, saved: TrainingState | undefined, out: string | undefined): configs.Config {
  if (!saved) {
    if (args.values.config === undefined) throw new UsageError(`Choose a configuration with --config NAME: ${configs.all.map((c) => c.name).join(", ")}.`);
    return configs.withOverrides(configs.named(args.values.config), args.overrides);
  }
  if (args.values.config !== undefined && args.values.config !== saved.config.name) {
    throw new UsageError(`--config ${args.values.config} differs from the run saved in ${out} (${saved.config.name}); leave --config out to resume it.`);
  }
  const changed = configs.MODEL_KEYS.filter((k) => k in args.overrides && args.overrides[k] !== saved.config[k]);
  if (changed.length) throw new UsageError(`--resume cannot change the model: ${changed.map((k) => `--${kebab(k)}`).join(", ")} ${changed.length > 1 ? "differ" : "differs"} from the saved run. Train a new run into another --out.`);
  return configs.withOverrides(saved.config, args.overrides);
}

/** The run the arguments describe, checked: a folder that is not ours, a resume without a saved run, a changed model are refused. */
function plan(args: Args): Plan {
  const { out, resume } = args.values;
  if (resume && out === undefined) throw new UsageError("--resume continues the run saved in a model directory: give it with --out DIR.");
  let saved: TrainingState | undefined;
  if (out !== undefined) {
    const holds = checkModelDirTarget(out) === "model";
    if (resume && !holds) throw new UsageError(`--resume: ${out} holds no model to resume. Leave --resume out to start a run there.`);
    if (resume) {
      saved = readTrainingState(out);
      if (!saved) throw new UsageError(`${out} holds a model but no training state (it was not written by npm run train); it cannot be resumed. Sample it, or train into a new --out.`);
    } else if (holds) {
      const held = readTrainingState(out);
      throw new UsageError(`${out} already holds a model${held ? ` (${held.config.name}, step ${held.step}, best val ${held.bestVal.toFixed(4)})` : ""}: add --resume to continue it, or choose another --out (or delete it) to start afresh.`);
    }
  }
  const config = chooseConfig(args, saved, out);
  if (out !== undefined && config.model !== "gpt") {
    const gpts = configs.all.filter((c) => c.model === "gpt").map((c) => c.name).join(", ");
    throw new UsageError(`--out saves a GPTLanguageModel (gpt.py's model, safetensors that PyTorch reads); ${config.name} builds a ${config.model} model. Train without --out, or choose a gpt configuration (${gpts}).`);
  }
  if (saved && args.values.seed !== undefined && args.values.seed !== saved.seed) throw new UsageError(`--seed differs from the saved run's (${saved.seed}); leave it out to resume.`);
  const seed = saved?.seed ?? args.values.seed ?? 1337;
  return { config, seed, data: args.values.data ?? saved?.data.path ?? null, out, saved };
}

async function loadText(data: string | null): Promise<{ text: string; source: string }> {
  if (data === null) return { text: await loadTinyShakespeare(), source: "tiny Shakespeare" };
  return { text: readTrainingText(data), source: data };
}

/** A run ready to train: fresh, or resumed from its checkpoint. */
interface Run {
  model: LanguageModel;
  tokenizer: CharTokenizer;
  optimizer: AdamW;
  rng: Rng;
  state: TrainingState;
  /** Set when the text differs from the saved run's: the best val starts afresh. */
  newText?: boolean;
}

function freshRun(p: Plan, text: string, sha256: string): Run {
  const rng = new Rng(p.seed);
  const tokenizer = CharTokenizer.fromText(text);
  const model = configs.build(p.config, tokenizer.vocabSize, rng);
  const state: TrainingState = {
    config: p.config, seed: p.seed, data: { path: p.data, sha256 }, step: 0, bestVal: Infinity, history: [], spentMs: 0,
    ...randomState(model, rng), saved: "val improved",
  };
  return { model, tokenizer, optimizer: optimizerFor(p.config, model), rng, state };
}

function resumedRun(p: Plan, sha256: string): Run {
  const checkpoint = loadCheckpoint(p.out!);
  const { state } = checkpoint;
  const newText = state.data.sha256 !== sha256 && !(state.data.sha256 === "" && state.data.path === p.data);
  const kept = newText ? { bestVal: Infinity, history: [] } : { history: state.history.filter((e) => e.step < state.step) };
  return { ...checkpoint, state: { ...state, ...kept, config: p.config, data: { path: p.data, sha256 } }, newText };
}

/** The line that ends a run: what this run reached, and where its best model is. */
function summary(history: EvalPoint[], best: EvalPoint | undefined, out: string | undefined, savedBest: number): string {
  const last = history[history.length - 1];
  const reached = last ? `step ${last.step}: train ${last.train.toFixed(4)}, val ${last.val.toFixed(4)}` : "no evaluation";
  if (!out) return `done at ${reached}`;
  if (best) return `done at ${reached}; this run's best val ${best.val.toFixed(4)} (step ${best.step}) is saved in ${out}; sample it: npm run sample -- --out ${out}`;
  return `done at ${reached}; no evaluation of this run beat the saved best val ${savedBest.toFixed(4)}, which ${out} keeps`;
}

/** Trains `run` per `p`, saving into p.out; the outcome's model is the caller's to dispose. */
async function trainRun(p: Plan, run: Run, split: Split, hooks: TrainHooks, log: (line: string) => void): Promise<TrainOutcome> {
  const { model, tokenizer, optimizer, rng, state } = run;
  const c = p.config;
  const startStep = state.step;
  const savedBest = state.bestVal;
  let best: EvalPoint | undefined;
  const start = performance.now();
  const save = async (why: TrainingState["saved"]) => {
    if (!p.out) return;
    await saveCheckpoint(p.out, { model: model as GPTLanguageModel, tokenizer, optimizer, state: { ...state, saved: why } });
  };
  const spentBefore = state.spentMs;
  try {
    const result = await train(model, optimizer, split, {
      ...configs.trainingOf(c), spentMs: spentBefore, startStep, rng, signal: hooks.signal, interruptible: hooks.interruptible ? ["SIGINT", "SIGTERM", "SIGHUP"] : false,
      progress: terminalProgress(c.name),
      onStep: (step) => {
        Object.assign(state, { step, spentMs: spentBefore + performance.now() - start }, randomState(model, rng));
        hooks.onStep?.(step);
      },
      onEval: async (e) => {
        state.history.push(e);
        const improved = e.val < state.bestVal;
        if (improved) {
          state.bestVal = e.val;
          best = e;
          await save("val improved");
        }
        log(`step ${e.step}: train ${e.train.toFixed(4)}, val ${e.val.toFixed(4)}${improved && p.out ? `, saved to ${p.out}` : ""}`);
      },
    });
    log(summary(state.history, best, p.out, savedBest));
    return { history: state.history, stepLosses: result.stepLosses, interrupted: false, model };
  } catch (err) {
    if (!(err instanceof TrainingInterrupted)) throw err;
    await save("interrupted");
    const how = err.byProcessSignal ? ` by ${err.byProcessSignal}` : "";
    log(`interrupted${how} at step ${err.step}${p.out ? `; saved to ${p.out}; continue with: npm run train -- --out ${p.out} --resume` : " (no --out, nothing saved)"}`);
    return { history: state.history, stepLosses: err.result.stepLosses, interrupted: true, stoppedBy: err.byProcessSignal, model };
  }
}

/** Runs the train command on `argv`; the caller disposes `model` of the outcome. */
export async function runTrain(argv: string[], hooks: TrainHooks = {}): Promise<TrainOutcome | undefined> {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const args = parseCommand(argv, TRAIN_COMMAND);
  if (args.help) {
    log(fullHelp());
    return undefined;
  }
  const p = plan(args);
  let lock: RunLock | undefined;
  try {
    lock = p.out === undefined ? undefined : lockDirectory(p.out, `npm run train ${argv.join(" ")}`.trim());
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  try {
    const { text, source } = await loadText(p.data);
    checkTextLength(source, [...text].length, p.config.blockSize);
    const backend = await initBackend(undefined, { workload: configs.workloadOf(p.config) });
    log(`${backend.description}\nconfig ${p.config.name}: ${configs.KEYS.map((k) => `${k} ${p.config[k]}`).join(", ")}`);
    const sha256 = textSha256(text);
    const run = p.saved ? resumedRun(p, sha256) : freshRun(p, text, sha256);
    try {
      if (run.newText) log(`${source} is not the text the saved run trained on: its best val starts afresh on this text (the saved best, ${p.saved!.bestVal.toFixed(4)}, was on the other).`);
      const split = trainValSplit(run.tokenizer.encode(text));
      const steps = p.config.maxMinutes > 0 ? `up to ${p.config.maxMinutes} min (at most ${p.config.maxIters} steps)` : `steps ${run.state.step + 1}..${p.config.maxIters}`;
      log(`${source}: ${text.length} characters, vocabulary of ${run.tokenizer.vocabSize}; ${run.model.numParameters()} parameters; ${steps}`);
      return await trainRun(p, run, split, hooks, log);
    } catch (err) {
      run.model.dispose();
      throw err;
    } finally {
      run.optimizer.dispose();
    }
  } finally {
    lock?.release();
  }
}

/** The exit status of a process stopped by `signal`, as a shell reports it (128 + its number). */
const EXIT_STATUS: Record<Signal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

async function main(): Promise<void> {
  const outcome = await runTrain(process.argv.slice(2), { interruptible: true });
  if (!outcome) return;
  outcome.model.dispose();
  if (tf.memory().numTensors > 0 && process.env.GPT_DEBUG_LEAKS) console.error(`tensors left: ${tf.memory().numTensors}`);
  if (outcome.interrupted) process.exitCode = EXIT_STATUS[outcome.stoppedBy ?? "SIGINT"];
}

if (require.main === module) runMain(main);
