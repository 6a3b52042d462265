/**
 * The learning rate over a run, as nanoGPT's get_lr: a linear warm-up over the first steps, then constant, or a cosine
 * from the peak down to a floor by the end of the run. The end is the last step, or, with a time budget, the moment the
 * budget is spent: then the cosine follows the clock, so a faster machine takes more steps along the same curve.
 */

export interface LrSchedule {
  /** The peak learning rate. */
  lr: number;
  /** Steps of linear warm-up (0: none). */
  warmupIters?: number;
  /** "constant" (default) or "cosine". */
  decay?: "constant" | "cosine";
  /** Where the cosine ends (default 0). */
  minLr?: number;
}

/** Checks a schedule's settings, or throws an error that says what each takes. */
export function checkSchedule({ lr, warmupIters = 0, decay = "constant", minLr = 0 }: LrSchedule): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`schedule: lr must be a number >= 0, got ${lr}.`);
  if (!(Number.isInteger(warmupIters) && warmupIters >= 0)) throw new Error(`schedule: warmupIters must be a whole number (0 or more), got ${warmupIters}.`);
  if (decay !== "constant" && decay !== "cosine") throw new Error(`schedule: decay must be "constant" or "cosine", got ${JSON.stringify(decay)}.`);
  if (!(Number.isFinite(minLr) && minLr >= 0 && minLr <= lr)) throw new Error(`schedule: minLr must be a number in [0, lr = ${lr}], got ${minLr}.`);
}

/**
 * The learning rate for step `step` (0 = the first update) when `progress` of the run (0..1: steps taken over the
 * steps planned, or time spent over the budget) is behind; `warmupEnd` is the progress at which warm-up ended.
 *   warm-up:  lr · (step + 1) / (warmupIters + 1)
 *   cosine:   minLr + ½ (1 + cos(π · d)) (lr − minLr),  d = (progress − warmupEnd) / (1 − warmupEnd), clamped to 0..1
 */
export function learningRate({ lr, warmupIters = 0, decay = "constant", minLr = 0 }: LrSchedule, step: number, progress: number, warmupEnd = 0): number {
  if (step < warmupIters) return (lr * (step + 1)) / (warmupIters + 1);
  if (decay === "constant") return lr;
  const d = Math.min(1, Math.max(0, warmupEnd >= 1 ? 1 : (progress - warmupEnd) / (1 - warmupEnd)));
  return minLr + 0.5 * (1 + Math.cos(Math.PI * d)) * (lr - minLr);
}
