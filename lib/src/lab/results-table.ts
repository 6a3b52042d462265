/**
 * The three numbers a lesson that trains shows side by side: the lecture's, ours at full settings (recorded by
 * `npm run ladder -- --record` in lib/results.json, with the machine and date), and the run the learner just made.
 */
import * as configs from "../configs";
import { resultOf } from "../results";
import type { EvalPoint } from "../train/types";
import { showRows, type Row } from "./show";

/** The rows for configuration `name` and this run's last evaluation; `fast` marks a run in fast mode. */
export function resultRows(name: string, last: EvalPoint, { fast = false, title }: { fast?: boolean; title?: string } = {}): Row[] {
  const entry = configs.all.find((c) => c.name === name);
  const ours = resultOf(name);
  const rows: Row[] = [];
  if (entry?.reportedVal !== undefined) rows.push({ run: `the lecture (${entry.source})`, steps: entry.maxIters, "val loss": entry.reportedVal });
  rows.push(ours
    ? { run: `ours at full settings (${ours.machine}, ${ours.date})`, steps: ours.steps, "val loss": ours.val }
    : { run: "ours at full settings: not recorded yet (npm run ladder -- --record)", steps: "", "val loss": "" });
  rows.push({ run: `${title ?? "this run"}${fast ? " (fast mode: fewer steps, not comparable)" : ""}`, steps: last.step, "val loss": last.val });
  return rows;
}

/** Shows resultRows as a table (text outside a notebook). */
export function showResults(name: string, last: EvalPoint, options: { fast?: boolean; title?: string } = {}): void {
  showRows(resultRows(name, last, options));
}
