/**
 * Our results at full settings: one committed file (lib/results.json) that `npm run ladder -- --record` (the lecture's
 * ladder) and `npm run speedrun -- --record` rewrite, and that the lessons read to show three numbers side by side:
 * the lecture's, ours at full settings, and the run the learner just made.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** One configuration trained at its full settings. */
export interface Result {
  train: number;
  val: number;
  steps: number;
  /** Wall time of the training, evaluations included. */
  seconds: number;
  /** Where and when: the CPU (or GPU) and its cores, the date (YYYY-MM-DD), the commit. */
  machine: string;
  date: string;
  commit: string;
}

/** The file, beside the library's compiled code (lib/dist/..) in the package. */
export const RESULTS_FILE = path.resolve(__dirname, "..", "results.json");

/** Every recorded result, by configuration name; {} when none is recorded. */
export function readResults(file = RESULTS_FILE): Record<string, Result> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, Result>;
  } catch (err) {
    throw new Error(`${file} is damaged (${(err as Error).message}): restore it with git checkout, or record the results again (npm run ladder -- --record).`);
  }
}

/** The result recorded for `name`, if any. */
export const resultOf = (name: string, file = RESULTS_FILE): Result | undefined => readResults(file)[name];

/** "AMD EPYC 9B14 (2 cores)": this machine's CPU, for a result's record. */
export function thisMachine(): string {
  const cpus = os.cpus();
  return `${(cpus[0]?.model ?? "unknown CPU").replace(/\s+/g, " ").trim()} (${cpus.length} cores)`;
}

/** The checkout's commit, short, with "+changes" when the working tree differs from it. */
function thisCommit(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: path.dirname(RESULTS_FILE), encoding: "utf8" }).trim();
  try {
    return git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "--untracked-files=no") ? "+changes" : "");
  } catch {
    return "unknown";
  }
}

/** Records results (replacing earlier ones of the same names), stamped with this machine, today and the commit. */
export function recordResults(results: Record<string, Pick<Result, "train" | "val" | "steps" | "seconds">>, file = RESULTS_FILE): void {
  const stamp = { machine: thisMachine(), date: new Date().toISOString().slice(0, 10), commit: thisCommit() };
  const all = readResults(file);
  for (const [name, r] of Object.entries(results)) all[name] = { ...r, ...stamp };
  writeFileSync(`${file}.tmp`, JSON.stringify(all, null, 1) + "\n");
  renameSync(`${file}.tmp`, file);
}
