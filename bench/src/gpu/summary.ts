#!/usr/bin/env node
/**
 * The GPU run's summary (scripts/gpu-run.sh): the parts' results (./results) as one JSON file and a few lines at the
 * end of the log: the adapter, ours against PyTorch, the whole run's projected time, this call's steps and pace, the
 * latest evaluation. The parts' statuses come from the run script's parts.tsv (name, exit status, seconds).
 *   node bench/dist/gpu/summary.js --results DIR --out FILE
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { formatDuration, parseCommand, runMain, UsageError, type CommandSpec } from "@build-gpt/lib/internal";
import { fmt } from "../harness";
import { partHelp, readResult, type AdapterResult, type ResumeResult, type TimingResult, type TrainResult } from "./results";

const SUMMARY_COMMAND: CommandSpec = {
  name: "gpu:summary",
  summary: "Gathers the GPU run's results into one JSON file and prints its summary.",
  options: {
    results: { type: "string", arg: "DIR", help: "the parts' results" },
    out: { type: "string", arg: "FILE", help: "the summary's JSON file" },
  },
};

interface Part {
  name: string;
  status: number;
  seconds: number;
}

function readParts(dir: string): Part[] {
  const file = path.join(dir, "parts.tsv");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((line) => {
    const [name, status, seconds] = line.split("\t");
    return { name, status: Number(status), seconds: Number(seconds) };
  });
}

function timingLines(t: TimingResult): string[] {
  const torch = "skipped" in t.torch ? `PyTorch not timed (${t.torch.skipped})` : `${t.torch.label} ${fmt(t.torch.medianMs)} ms (${fmt(t.torch.minMs)}-${fmt(t.torch.maxMs)})`;
  return [
    `training step of ${t.config} (batch ${t.batchSize}, block ${t.blockSize}), median of ${t.steps}: ours ${fmt(t.ours.medianMs)} ms (${fmt(t.ours.minMs)}-${fmt(t.ours.maxMs)}), ${torch}` +
      (t.ratio === undefined ? "" : `: ours ÷ PyTorch ${fmt(t.ratio, 2)}`),
    `${t.config}'s whole run (${t.ours.maxIters} steps and its evaluations) at this pace: about ${fmt(t.ours.projectedMinutes)} min`,
  ];
}

function trainingLines(r: TrainResult, resumed?: ResumeResult): string[] {
  const how = r.done ? "the run is done" : r.interrupted ? "stopped at the time limit, saved: the next call resumes here" : "stopped";
  const pace = r.msPerStep === undefined ? "" : `, ${fmt(r.msPerStep)} ms/step (evaluations apart)`;
  const lines = [`this call: steps ${r.startStep} → ${r.endStep} of ${r.maxIters} in ${formatDuration(r.seconds * 1000)}${pace}; ${how}`];
  if (resumed) lines.unshift(`resumed at step ${resumed.step} (${resumed.how})`);
  const last = r.history.at(-1);
  if (last) lines.push(`latest evaluation: step ${last.step}: train ${last.train.toFixed(4)}, val ${last.val.toFixed(4)}; best val ${r.bestVal!.toFixed(4)}`);
  return lines;
}

async function main(): Promise<void> {
  const args = parseCommand(process.argv.slice(2), SUMMARY_COMMAND);
  if (args.help) return console.log(partHelp(SUMMARY_COMMAND, "node bench/dist/gpu/summary.js --results DIR --out FILE"));
  const dir = args.values.results as string | undefined;
  const out = args.values.out as string | undefined;
  if (!dir || !out) throw new UsageError("Give --results DIR and --out FILE.");
  const adapter = readResult<AdapterResult>(dir, "adapter.json");
  const timing = readResult<TimingResult>(dir, "timings.json");
  const resumed = readResult<ResumeResult>(dir, "resume.json");
  const training = readResult<TrainResult>(dir, "train.json");
  const parts = readParts(dir);
  const last = training?.history.at(-1);
  const summary = {
    adapter, timing, resumed, parts,
    training: training && { ...training, history: undefined },
    val: last ? { step: last.step, train: last.train, val: last.val, best: training!.bestVal } : undefined,
    done: training?.done ?? resumed?.done ?? false,
  };
  writeFileSync(out, JSON.stringify(summary, null, 1) + "\n");
  console.log(`adapter: ${adapter ? adapter.line : "none"}`);
  if (timing) timingLines(timing).forEach((l) => console.log(l));
  if (training) trainingLines(training, resumed).forEach((l) => console.log(l));
  else if (resumed?.done) console.log(`the run was already done at step ${resumed.step}: nothing trained`);
  const failed = parts.filter((p) => p.status !== 0 && !(p.name === "train" && p.status === 130));
  console.log(`parts: ${parts.map((p) => `${p.name} ${p.status === 0 ? "ok" : `exit ${p.status}`} (${formatDuration(p.seconds * 1000)})`).join(", ")}${failed.length ? ` — FAILED: ${failed.map((p) => p.name).join(", ")}` : ""}`);
}

if (require.main === module) runMain(main);
