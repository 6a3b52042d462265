/**
 * Fast mode: GPT_FAST=1 shrinks every lesson's training (iterations, evaluation batches) by 20x, so the whole course
 * executes in a few minutes (CI, a quick check). Unset, every lesson runs the lecture's settings.
 */
export const FAST_MODE_VAR = "GPT_FAST";
const FACTOR = 20;

export function isFastMode(): boolean {
  return ["1", "true", "yes"].includes((process.env[FAST_MODE_VAR] ?? "").toLowerCase());
}

export interface TrainingBudget {
  maxIters: number;
  evalInterval: number;
  evalIters: number;
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
    fast: true,
  };
}
