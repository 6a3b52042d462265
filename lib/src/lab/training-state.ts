/**
 * Where a notebook's training run stands, in the form `npm run train` keeps it in a checkpoint: what saveCheckpoint
 * needs so that loadCheckpoint, or `npm run train -- --out DIR --resume`, continues the run exactly.
 */
import type * as configs from "../configs";
import { randomState, textSha256, type TrainingState } from "../io/checkpoint";
import type { Module } from "../nn/module";
import type { Rng } from "../random";
import type { EvalPoint } from "../train/types";

export interface RunSoFar {
  /** The configuration trained (its maxIters is where a resumed run stops). */
  config: configs.Config;
  /** The seed the run's Rng started from. */
  seed: number;
  /** The text trained on, and its file (null, the default: tiny Shakespeare, as the train command loads it). */
  text: string;
  dataPath?: string | null;
  model: Module;
  /** The run's batch rng, now. */
  rng: Rng;
  /** Steps completed. */
  step: number;
  /** The evaluations so far. */
  history: EvalPoint[];
  /** Milliseconds of a time budget already spent (default 0). */
  spentMs?: number;
}

/**
 * The training state of a run stopped after `step` steps. Call it where the run can resume from: after a step and
 * before any evaluation at that step — when train() has thrown TrainingInterrupted (the kernel's interrupt, or its
 * `signal`), or in its onStep — since the state holds the rng's and the dropout layers' random streams as they are now.
 */
export function trainingState({ config, seed, text, dataPath = null, model, rng, step, history, spentMs = 0 }: RunSoFar): TrainingState {
  if (!(Number.isInteger(step) && step >= 0 && step <= config.maxIters)) {
    throw new Error(`trainingState: step must be the steps completed, an integer in [0, ${config.maxIters}] (the config's maxIters), got ${step}.`);
  }
  const done = history.filter((e) => e.step < step); // an evaluation at `step` itself is made again on resuming
  return {
    config, seed, data: { path: dataPath, sha256: textSha256(text) }, step, history: done, spentMs,
    bestVal: Math.min(Infinity, ...done.map((e) => e.val)), ...randomState(model, rng), saved: "interrupted",
  };
}
