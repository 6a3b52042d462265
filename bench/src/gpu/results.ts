/**
 * The files each part of the GPU run (scripts/gpu-run.sh) leaves in its results folder, read back by ./summary: one
 * JSON file a part, so that a part that failed or ran out of time leaves the others' results whole.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { EvalPoint } from "@build-gpt/lib";
import { helpText, type CommandSpec } from "@build-gpt/lib/internal";

/** --help of a part: its options as the commands print them, under the way the run script starts it (no npm script). */
export const partHelp = (spec: CommandSpec, usage: string): string => helpText(spec).replace(/^npm run .*$/m, usage);

/** What the adapter check found (adapter.json). */
export interface AdapterResult {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
  /** The backend's own line: "Backend: webgpu (Dawn on ...)". */
  line: string;
}

/** A median step time and its range, in ms. */
export interface StepTimes {
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/** The side-by-side training step (timings.json). */
export interface TimingResult {
  /** The configuration timed, with its batch and block size. */
  config: string;
  batchSize: number;
  blockSize: number;
  steps: number;
  warmup: number;
  ours: StepTimes & { evalBatchMs: number; projectedMinutes: number; maxIters: number };
  /** PyTorch's step, or why it was not timed. */
  torch: (StepTimes & { label: string; gpu?: string }) | { skipped: string };
  /** Ours ÷ PyTorch's median. */
  ratio?: number;
}

/** The state a call resumed from (resume.json). */
export interface ResumeResult {
  step: number;
  done: boolean;
  /** How the state travelled: what in it is exact and what is not. */
  how: string;
}

/** This call's training (train.json). */
export interface TrainResult {
  startStep: number;
  endStep: number;
  maxIters: number;
  seconds: number;
  /** Median ms per training step in this call (evaluations apart); undefined before two steps. */
  msPerStep?: number;
  interrupted: boolean;
  done: boolean;
  history: EvalPoint[];
  bestVal?: number;
}

export function writeResult(dir: string, name: string, value: object): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), JSON.stringify(value, null, 1) + "\n");
}

/** A part's result, or undefined where the part left none. */
export function readResult<T>(dir: string, name: string): T | undefined {
  const file = path.join(dir, name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined;
}
