/**
 * Fast mode: GPT_FAST=1 shrinks every lesson's training (iterations, evaluation batches) by 20x, and a time budget
 * (maxMinutes) by 60x, and samples val instead of measuring the whole val text, so the whole course executes in a few minutes (CI, a quick check). Unset, every lesson runs the
 * lecture's settings.
 */
import { envFlag } from "../env";

export const FAST_MODE_VAR = "GPT_FAST";
const FACTOR = 20;
const TIME_FACTOR = 60;

/** GPT_FAST set to 1, true, yes or on (any case); unset, 0, false, no or off: the lecture's settings; anything else an error. */
export function isFastMode(): boolean {
  return envFlag(FAST_MODE_VAR) ?? false;
}

export interface TrainingBudget {
  maxIters: number;
  evalInterval: number;
  evalIters: number;
  /** A time budget in minutes (0 or absent: none). */
  maxMinutes?: number;
  /** Val measured on the whole val text (fast mode samples evalIters batches instead: it is the slower estimate). */
  wholeVal?: boolean;
}

/** The lecture's budget, or in fast mode the same budget shrunk; other settings pass through unchanged. */
export function lessonSettings<S extends TrainingBudget>(full: S): S & { fast: boolean } {
  if (!isFastMode()) return { ...full, fast: false };
  const shrink = (n: number, min: number) => Math.max(min, Math.round(n / FACTOR));
  return {
    ...full,
    maxIters: shrink(full.maxIters, 1),
    evalInterval: shrink(full.evalInterval, 1),
    evalIters: shrink(full.evalIters, 2),
    ...(full.maxMinutes ? { maxMinutes: full.maxMinutes / TIME_FACTOR } : {}),
    ...(full.wholeVal ? { wholeVal: false } : {}),
    fast: true,
  };
}
