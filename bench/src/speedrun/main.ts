#!/usr/bin/env node
/**
 * npm run speedrun [-- --config cpu-speedrun --minutes M --record --compare]
 * Trains a configuration (default: the CPU speedrun) on tiny Shakespeare within its time budget on this machine's
 * CPU, and prints where it ended (val loss, steps, tokens seen, time) with a sample. --compare runs, on the same budget
 * and the same cores, nanoGPT's CPU recipe in PyTorch 2.x (eager or torch.compile, whichever takes more steps in a
 * short probe) and in ours, then the speedrun's settings in PyTorch and in ours, and prints one table. --record keeps
 * the speedrun's result in lib/results.json for the lessons. Run it on an idle machine: other work on the cores slows
 * both sides unevenly.
 */
import * as os from "node:os";
import { configs, initBackend, lab } from "@build-gpt/lib";
import { helpText, parseCommand, recordResults, runMain, UsageError, type CommandSpec } from "@build-gpt/lib/internal";
import { compared, trainOurs, type RunResult } from "./ours";
import { benchPython, trainTorch } from "./torch";

export const SPEEDRUN_COMMAND = {
  name: "speedrun",
  summary: "Trains the CPU speedrun (or --config NAME) within its time budget; --compare also runs nanoGPT's CPU recipe in PyTorch and in ours.",
  options: {
    config: { type: "string", arg: "NAME", help: "the configuration to train (default cpu-speedrun)" },
    minutes: { type: "number", arg: "M", help: "the time budget in minutes (default: the configuration's maxMinutes)" },
    compare: { type: "boolean", help: "also nanoGPT's CPU recipe in PyTorch 2.x and in ours, and the speedrun in PyTorch, on the same budget" },
    record: { type: "boolean", help: "keep the speedrun's result in lib/results.json (for the lessons)" },
    seed: { type: "count", arg: "S", help: "the random seed (default 1337)" },
  },
} as const satisfies CommandSpec;

/** The configuration `name` with a time budget of `minutes` (the steps then limited by time alone). */
export function budgeted(name: string, minutes: number | undefined): configs.Config {
  const c = configs.named(name);
  const m = minutes ?? (c.maxMinutes || undefined);
  if (m === undefined) throw new UsageError(`${name} has no time budget: give one with --minutes M.`);
  if (!(m > 0)) throw new UsageError(`--minutes takes a number of minutes > 0, got ${m}.`);
  return configs.withOverrides(c, { maxMinutes: m, maxIters: 100_000_000 });
}

/** The faster of PyTorch's eager and torch.compile on `c`: the one that takes more steps in a one-minute probe each. */
async function fastestTorch(python: string, c: configs.Config, data: string, seed: number): Promise<boolean> {
  const probe = configs.withOverrides(c, { maxMinutes: 1, evalInterval: 100_000_000, evalIters: 1, wholeVal: false });
  const [eager, compiled] = [await trainTorch(python, probe, data, false, seed), await trainTorch(python, probe, data, true, seed).catch(() => undefined)];
  console.log(`PyTorch probe, one minute each: eager ${eager.steps} steps, torch.compile ${compiled ? `${compiled.steps} steps` : "failed"}`);
  return compiled !== undefined && compiled.steps > eager.steps;
}

const table = (rows: RunResult[]) => lab.rowsText(rows.map((r) => ({
  run: r.run, "val loss": r.val, "train loss": r.train, steps: r.steps, "tokens seen": r.tokens, "minutes": Number((r.seconds / 60).toFixed(2)),
})));

async function main(): Promise<void> {
  const args = parseCommand(process.argv.slice(2), SPEEDRUN_COMMAND);
  if (args.help) return console.log(helpText(SPEEDRUN_COMMAND));
  const seed = args.values.seed ?? 1337;
  const speedrun = budgeted(args.values.config ?? "cpu-speedrun", args.values.minutes);
  const backend = await initBackend();
  console.log(`${backend.description}\n${os.cpus()[0]?.model} (${os.cpus().length} cores), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; budget ${speedrun.maxMinutes} min a run`);
  const rows: RunResult[] = [];
  const timed = args.values.compare ? compared(speedrun) : speedrun; // evaluated alike with the rows beside it
  if (args.values.compare) {
    const { python, why } = benchPython();
    if (!python) throw new UsageError(`--compare needs PyTorch: ${why}.`);
    const data = process.env.TINYSHAKESPEARE_PATH;
    if (!data) throw new UsageError("--compare needs the dataset's path in TINYSHAKESPEARE_PATH (the PyTorch side reads the file).");
    const recipe = compared(budgeted("nanogpt-cpu", speedrun.maxMinutes));
    const compile = await fastestTorch(python, recipe, data, seed);
    rows.push(await trainTorch(python, recipe, data, compile, seed));
    console.log(table(rows.slice(-1)));
    rows.push(await trainOurs(recipe, seed));
    console.log(table(rows.slice(-1)));
    rows.push(await trainTorch(python, timed, data, compile, seed)); // the speedrun's settings on PyTorch's engine
    console.log(table(rows.slice(-1)));
  }
  const ours = await trainOurs(timed, seed);
  rows.push(ours);
  console.log(`\n${table(rows)}\n\n${speedrun.name}'s sample:\n${ours.sample}`);
  if (args.values.record) {
    recordResults({ [speedrun.name]: { train: ours.train, val: ours.val, steps: ours.steps, seconds: ours.seconds } });
    console.log(`recorded ${speedrun.name} in lib/results.json`);
  }
}

if (require.main === module) runMain(main);
