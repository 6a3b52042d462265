#!/usr/bin/env node
/**
 * npm run ladder [-- --configs bigram,one-head,... --steps N]
 * Trains every step of the lecture's ladder at full settings (GPT_FAST=1 shrinks them) and prints one row per step:
 * step, parameters, train and val loss, the lecture's val loss, the difference and the wall time.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../engine/backend";
import { loadTinyShakespeare } from "../data/dataset";
import { CharTokenizer } from "../data/tokenizer";
import { trainValSplit } from "../data/batches";
import { LADDER } from "../ladder";
import { FAST_MODE_VAR, isFastMode, lessonSettings } from "../notebook/fast-mode";
import { Rng } from "../random";
import { AdamW } from "../train/adamw";
import { train } from "../train/trainer";
import { terminalProgress } from "../progress/terminal";
import { helpText, parseCommand, runMain, UsageError, type CommandSpec } from "./args";

export const LADDER_COMMAND: CommandSpec = {
  name: "ladder",
  summary: "Trains each rung of the lecture's ladder and prints its train and val loss beside the lecture's.",
  options: {
    configs: { type: "string", arg: "A,B,...", help: `the rungs to train (default all): ${LADDER.map((s) => s.id).join(", ")}` },
    steps: { type: "positive", help: "training steps per rung (default: each rung's maxIters; fast mode shrinks it)" },
  },
};

function chosenRungs(list: string | undefined): string[] {
  if (list === undefined) return LADDER.map((s) => s.id);
  const ids = list.split(",").filter(Boolean);
  const unknown = ids.filter((id) => !LADDER.some((s) => s.id === id));
  if (unknown.length || !ids.length) {
    throw new UsageError(`Unknown rung(s) for --configs: ${unknown.join(", ") || "(none given)"}. The rungs: ${LADDER.map((s) => s.id).join(", ")}.`);
  }
  return ids;
}

const row = (cells: (string | number)[], widths: number[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ");

async function main() {
  const args = parseCommand(process.argv.slice(2), LADDER_COMMAND);
  if (args.help) return console.log(helpText(LADDER_COMMAND));
  const steps = chosenRungs(args.values.configs as string | undefined);
  const maxIters = args.values.steps as number | undefined;
  const backend = await initBackend();
  console.log(backend.description);
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const split = trainValSplit(tokenizer.encode(text));
  const widths = [16, 10, 8, 8, 8, 7, 8];
  console.log(row(["step", "params", "train", "val", "lecture", "diff", "seconds"], widths));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const step of LADDER.filter((s) => steps.includes(s.id))) {
    const settings = lessonSettings(maxIters === undefined ? step : { ...step, maxIters, evalInterval: Math.min(step.evalInterval, maxIters) });
    const rng = new Rng(1337);
    const model = step.build(tokenizer.vocabSize, rng);
    const optimizer = new AdamW(model.parameters(), { lr: step.learningRate });
    // A bar on stderr while the step trains, erased when its row is printed (nothing at all when piped or in CI).
    const result = await train(model, optimizer, split, { ...settings, rng, progress: terminalProgress(step.id, { keep: false }) });
    const last = result.history[result.history.length - 1];
    console.log(row([step.id, model.numParameters(), last.train.toFixed(4), last.val.toFixed(4), step.lectureVal.toFixed(4),
      (last.val - step.lectureVal).toFixed(3), (result.elapsedMs / 1000).toFixed(1)], widths));
    model.dispose();
    optimizer.dispose();
  }
  if (isFastMode()) console.log(`(fast mode: ${FAST_MODE_VAR} is set, so the budgets are shrunk and the losses are not the lecture's)`);
  console.log(`tensors left: ${tf.memory().numTensors}`);
}

if (require.main === module) runMain(main);
