#!/usr/bin/env node
/**
 * The GPU run's training (scripts/gpu-run.sh): `npm run train`'s command (runTrain) with a progress line after the
 * tenth step, then every --every seconds, for a log that is not a terminal (steps, ms per step, the time the rest would
 * take at this pace),
 * and, when it stops (done, or interrupted by SIGINT: the model directory is saved first), this call's results:
 * train.json (steps, pace, evaluations) and losses.tsv (every evaluation of the run, earlier calls' included).
 *   node bench/dist/gpu/train.js [--results DIR] [--every 30] -- --config gpt-py [--key value ...] --out DIR [--resume]
 * Exits as the train command does: 0 when the run is done, 130 when interrupted.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { configs } from "@build-gpt/lib";
import { formatDuration, parseCommand, runMain, runTrain, TRAIN_COMMAND, UsageError, type CommandSpec } from "@build-gpt/lib/internal";
import { median } from "../harness";
import { partHelp, writeResult, type TrainResult } from "./results";

/** The call's step after which the first progress line comes: its pace is known by then. */
const FIRST_LINE_AT = 10;

const GPU_TRAIN_COMMAND: CommandSpec = {
  name: "gpu:train",
  summary: "Runs the train command (its options after --) with a progress line for logs, and writes this call's results.",
  options: {
    results: { type: "string", arg: "DIR", help: "write train.json and losses.tsv there" },
    every: { type: "positive", arg: "S", help: "seconds between progress lines (default 30)" },
  },
};

/** The steps' pace: when each step ended, and the median time of the recent ones that held no evaluation. */
class Pace {
  private readonly times: number[] = [];
  private last?: number;
  private steps = 0;
  private lastLine = performance.now();
  readonly started = performance.now();

  constructor(private readonly evalInterval: number, private readonly everyMs: number) {}

  /** Records step `step`; true when a progress line is due: after this call's tenth step, then every `everyMs`. */
  step(step: number): boolean {
    const now = performance.now();
    // The call's first step also timed the start (the backend, the data, an evaluation), and the step after an
    // evaluation's step that evaluation: both are left out of the pace.
    if (this.last !== undefined && (step - 1) % this.evalInterval !== 0) this.times.push(now - this.last);
    this.last = now;
    if (++this.steps !== FIRST_LINE_AT && now - this.lastLine < this.everyMs) return false;
    this.lastLine = now;
    return true;
  }

  /** Median ms per step of the last 100 steps; undefined before any. */
  msPerStep(): number | undefined {
    return this.times.length ? median(this.times.slice(-100)) : undefined;
  }
}

function lossLog(history: TrainResult["history"]): string {
  return ["step\ttrain\tval", ...history.map((p) => `${p.step}\t${p.train.toFixed(4)}\t${p.val.toFixed(4)}`)].join("\n") + "\n";
}

/** The step a model directory was saved at: where a call that took no step stands. */
function savedStep(out: string | undefined): number {
  try {
    return JSON.parse(readFileSync(path.join(out ?? "", "config.json"), "utf8")).training.step;
  } catch {
    return 0; // nothing saved
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const split = argv.indexOf("--");
  const own = parseCommand(split < 0 ? argv : argv.slice(0, split), GPU_TRAIN_COMMAND);
  if (own.help) return console.log(partHelp(GPU_TRAIN_COMMAND, "node bench/dist/gpu/train.js [options] -- TRAIN_OPTIONS"));
  if (split < 0) throw new UsageError("Give the train command's options after --: node bench/dist/gpu/train.js -- --config gpt-py --out DIR.");
  const trainArgv = argv.slice(split + 1);
  const parsed = parseCommand(trainArgv, TRAIN_COMMAND);
  // The settings as the train command takes them: a resumed run passes the configuration and overrides it started with.
  const config = configs.withOverrides(configs.named((parsed.values.config as string | undefined) ?? "gpt-py"), parsed.overrides);
  const pace = new Pace(config.evalInterval, ((own.values.every as number | undefined) ?? 30) * 1000);
  let startStep: number | undefined;
  let endStep = 0;
  const onStep = (step: number) => {
    startStep ??= step - 1;
    endStep = step;
    if (!pace.step(step)) return;
    const ms = pace.msPerStep();
    const rest = ms === undefined ? "" : ` · the remaining ${config.maxIters - step} steps at this pace: ${formatDuration((config.maxIters - step) * ms)} (evaluations apart)`;
    console.log(`step ${step}/${config.maxIters} · ${ms === undefined ? "-" : ms.toFixed(1)} ms/step · this call: ${step - startStep} steps in ${formatDuration(performance.now() - pace.started)}${rest}`);
  };
  const outcome = await runTrain(trainArgv, { interruptible: true, onStep });
  if (!outcome) return;
  outcome.model.dispose();
  if (outcome.interrupted) process.exitCode = 130;
  const stood = startStep === undefined ? savedStep(parsed.values.out as string | undefined) : undefined;
  const result: TrainResult = {
    startStep: startStep ?? stood!, endStep: stood ?? endStep, maxIters: config.maxIters,
    seconds: (performance.now() - pace.started) / 1000, msPerStep: pace.msPerStep(), interrupted: outcome.interrupted, done: !outcome.interrupted,
    history: outcome.history, bestVal: outcome.history.length ? Math.min(...outcome.history.map((p) => p.val)) : undefined,
  };
  const results = own.values.results as string | undefined;
  if (results) {
    writeResult(results, "train.json", result);
    writeFileSync(path.join(results, "losses.tsv"), lossLog(outcome.history));
  }
  if (tf.memory().numTensors > 0 && process.env.GPT_DEBUG_LEAKS) console.error(`tensors left: ${tf.memory().numTensors}`);
}

if (require.main === module) runMain(main);
