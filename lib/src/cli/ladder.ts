#!/usr/bin/env node
/**
 * npm run ladder [-- --configs bigram,one-head,... --steps N --record]
 * Trains every step of the lecture's ladder at full settings (GPT_FAST=1 shrinks them) and prints one row per step:
 * step, parameters, train and val loss, the lecture's val loss, the difference and the wall time. --record writes
 * the results into lib/results.json, which the lessons read (only at full settings).
 */
import * as tf from "@tensorflow/tfjs";
import * as configs from "../configs";
import { trainValSplit } from "../data/batches";
import { loadTinyShakespeare } from "../data/dataset";
import { CharTokenizer } from "../data/tokenizer";
import { initBackend } from "../engine/backend";
import { optimizerFor } from "../io/checkpoint";
import { FAST_MODE_VAR, isFastMode, lessonSettings } from "../notebook/fast-mode";
import { terminalProgress } from "../progress/terminal";
import { Rng } from "../random";
import { recordResults, RESULTS_FILE, type Result } from "../results";
import { train } from "../train/trainer";
import { helpText, parseCommand, runMain, UsageError, type CommandSpec } from "./args";

const names = configs.ladder.map((c) => c.name);

export const LADDER_COMMAND = {
  name: "ladder",
  summary: "Trains each rung of the lecture's ladder and prints its train and val loss beside the lecture's.",
  options: {
    configs: { type: "string", arg: "A,B,...", help: `the rungs to train (default all): ${names.join(", ")}` },
    steps: { type: "positive", help: "training steps per rung (default: each rung's maxIters; fast mode shrinks it)" },
    record: { type: "boolean", help: `write the results into ${RESULTS_FILE.split(/[\\/]/).slice(-2).join("/")} for the lessons (full settings only)` },
  },
} as const satisfies CommandSpec;

function chosenRungs(list: string | undefined): configs.Config[] {
  if (list === undefined) return [...configs.ladder];
  const ids = list.split(",").filter(Boolean);
  const unknown = ids.filter((id) => !names.includes(id));
  if (unknown.length || !ids.length) throw new UsageError(`Unknown rung(s) for --configs: ${unknown.join(", ") || "(none given)"}. The rungs: ${names.join(", ")}.`);
  return configs.ladder.filter((c) => ids.includes(c.name));
}

const row = (cells: (string | number)[], widths: number[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ");

async function main() {
  const args = parseCommand(process.argv.slice(2), LADDER_COMMAND);
  if (args.help) return console.log(helpText(LADDER_COMMAND));
  const rungs = chosenRungs(args.values.configs);
  const maxIters = args.values.steps;
  if (args.values.record && (isFastMode() || maxIters !== undefined)) {
    throw new UsageError(`--record keeps results at full settings only: leave out --steps and ${FAST_MODE_VAR}.`);
  }
  const backend = await initBackend();
  console.log(backend.description);
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const split = trainValSplit(tokenizer.encode(text));
  const widths = [16, 10, 8, 8, 8, 7, 8];
  console.log(row(["step", "params", "train", "val", "lecture", "diff", "seconds"], widths));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  const results: Record<string, Pick<Result, "train" | "val" | "steps" | "seconds">> = {};
  for (const c of rungs) {
    const settings = lessonSettings(maxIters === undefined ? c : { ...c, maxIters, evalInterval: Math.min(c.evalInterval, maxIters) });
    const rng = new Rng(1337);
    const model = configs.build(settings, tokenizer.vocabSize, rng);
    const optimizer = optimizerFor(settings, model);
    // A bar on stderr while the step trains, erased when its row is printed (nothing at all when piped or in CI).
    const result = await train(model, optimizer, split, { ...configs.trainingOf(settings), rng, progress: terminalProgress(c.name, { keep: false }) });
    const last = result.history[result.history.length - 1];
    const lecture = c.reportedVal!;
    console.log(row([c.name, model.numParameters(), last.train.toFixed(4), last.val.toFixed(4), lecture.toFixed(4),
      (last.val - lecture).toFixed(3), (result.elapsedMs / 1000).toFixed(1)], widths));
    results[c.name] = { train: last.train, val: last.val, steps: last.step, seconds: result.elapsedMs / 1000 };
    model.dispose();
    optimizer.dispose();
  }
  if (isFastMode()) console.log(`(fast mode: ${FAST_MODE_VAR} is set, so the budgets are shrunk and the losses are not the lecture's)`);
  if (args.values.record) {
    recordResults(results);
    console.log(`recorded in ${RESULTS_FILE}`);
  }
  console.log(`tensors left: ${tf.memory().numTensors}`);
}

if (require.main === module) runMain(main);
