/**
 * Where a training run stands, as train() reports it to a progress display, and the one line of text every display
 * shows: step/total, the latest losses, tokens per second, time left. Pure arithmetic and formatting; the notebook
 * and terminal displays only decide where and how often to draw it.
 */
import type { EvalPoint } from "../train/types";

export interface TrainStatus {
  /** Training steps done so far (a resumed run starts at its startStep). */
  step: number;
  /** The step this run started from: 0, or the steps already taken when it resumed. Default 0. */
  startStep?: number;
  maxIters: number;
  /** A time budget (train's maxMinutes), in milliseconds; the run stops when it is spent. */
  budgetMs?: number;
  /** Milliseconds of the budget spent before this run (a resumed run). */
  spentMs?: number;
  /** The loss of the latest training batch; undefined before the first step. */
  loss?: number;
  /** The latest evaluation (mean train and val loss over evalIters batches). */
  lastEval?: EvalPoint;
  /** Tokens in one training step: batch size × block size. */
  tokensPerStep: number;
  /** Milliseconds since training started, everything included. */
  elapsedMs: number;
  /** Milliseconds spent in training steps only. */
  stepMs: number;
  /** Milliseconds spent in evaluations only. */
  evalMs: number;
  /** Evaluations done, and how many the run makes in all (each multiple of evalInterval from startStep, and after the last step). */
  evals: number;
  evalsTotal: number;
  /** True while an evaluation runs. */
  evaluating: boolean;
  state: "running" | "done" | "interrupted" | "failed";
}

/** What train() reports to as it runs (its `progress` option): the notebook's live display, a terminal bar. */
export interface TrainProgress {
  /** After every step and around every evaluation; must be cheap (throttle inside). */
  update(status: Readonly<TrainStatus>, history: readonly EvalPoint[]): void;
  /** Once, when the run ends: finished, interrupted or failed (status.state). */
  end(status: Readonly<TrainStatus>, history: readonly EvalPoint[]): void;
}

/** Steps this run has taken (not those before a resume). */
const stepsThisRun = (s: Pick<TrainStatus, "step" | "startStep">) => s.step - (s.startStep ?? 0);

/** Training throughput, evaluations not counted; undefined before the first step. */
export function tokensPerSecond(s: Pick<TrainStatus, "step" | "startStep" | "stepMs" | "tokensPerStep">): number | undefined {
  const steps = stepsThisRun(s);
  return steps > 0 && s.stepMs > 0 ? (steps * s.tokensPerStep * 1000) / s.stepMs : undefined;
}

/**
 * With a time budget, what is left of it; else the steps left at the mean time per step so far, plus the evaluations
 * left at the mean time per evaluation.
 */
export function timeLeftMs(s: Pick<TrainStatus, "step" | "startStep" | "maxIters" | "stepMs" | "evalMs" | "evals" | "evalsTotal" | "budgetMs" | "spentMs" | "elapsedMs">): number | undefined {
  if (s.budgetMs !== undefined) return Math.max(0, s.budgetMs - (s.spentMs ?? 0) - s.elapsedMs);
  const done = stepsThisRun(s);
  if (done === 0) return undefined;
  const steps = ((s.maxIters - s.step) * s.stepMs) / done;
  const evals = s.evals > 0 ? ((s.evalsTotal - s.evals) * s.evalMs) / s.evals : 0;
  return Math.max(0, steps + evals);
}

/** How far the run is, 0..1: of its budget's time, or of its steps. */
export function fractionDone(s: Pick<TrainStatus, "step" | "maxIters" | "budgetMs" | "spentMs" | "elapsedMs">): number {
  if (s.budgetMs !== undefined) return Math.min(1, ((s.spentMs ?? 0) + s.elapsedMs) / s.budgetMs);
  return s.maxIters > 0 ? s.step / s.maxIters : 1;
}

/** "0.8 s", "42 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (ms < 9950) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const t = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${pad(t % 60)} s`;
  return `${Math.floor(t / 3600)} h ${pad(Math.floor((t % 3600) / 60))} min`;
}

/** "850 tok/s", "12.3k tok/s", "1.25M tok/s". */
export function formatRate(tokensPerSec: number): string {
  if (tokensPerSec < 999.5) return `${Math.round(tokensPerSec)} tok/s`;
  if (tokensPerSec < 999_950) return `${(tokensPerSec / 1e3).toFixed(1)}k tok/s`;
  return `${(tokensPerSec / 1e6).toFixed(2)}M tok/s`;
}

const losses = (p: EvalPoint) => `train ${p.train.toFixed(4)}, val ${p.val.toFixed(4)}`;

/** "1200/3000", or with a time budget (the steps are not known ahead) "1200". */
const stepOf = (s: Pick<TrainStatus, "step" | "maxIters" | "budgetMs">) => (s.budgetMs === undefined ? `${s.step}/${s.maxIters}` : `${s.step}`);

/**
 * The progress line. Running: "bigram: step 1200/3000 · loss 2.5123 · train 2.5011, val 2.5302 (step 900) ·
 * 12.3k tok/s · 20 s left". Finished: "bigram: 3000 steps in 41 s · train 2.4617, val 2.4851 · 12.3k tok/s".
 * Interrupted: "bigram: interrupted at step 1234/3000 after 16 s · ... · the model keeps the weights of step 1234".
 */
export function progressLine(s: Readonly<TrainStatus>, label?: string): string {
  const tokens = tokensPerSecond(s);
  const rate = tokens === undefined ? undefined : formatRate(tokens);
  const left = timeLeftMs(s);
  const evalAt = s.lastEval && `${losses(s.lastEval)} (step ${s.lastEval.step})`;
  let parts: (string | undefined)[];
  if (s.state === "done") {
    parts = [`${s.step} steps in ${formatDuration(s.elapsedMs)}`, s.lastEval && losses(s.lastEval), rate];
  } else if (s.state === "interrupted" || s.state === "failed") {
    parts = [`${s.state} at step ${stepOf(s)} after ${formatDuration(s.elapsedMs)}`, evalAt,
      s.state === "interrupted" ? `the model keeps the weights of step ${s.step}` : undefined];
  } else {
    parts = [`step ${stepOf(s)}`, s.loss === undefined ? undefined : `loss ${s.loss.toFixed(4)}`, evalAt,
      rate, left === undefined ? undefined : `${formatDuration(left)} left`, s.evaluating ? "evaluating" : undefined];
  }
  const text = parts.filter(Boolean).join(" · ");
  return label ? `${label}: ${text}` : text;
}
