/**
 * Stopping training cleanly. Jupyter interrupts a tslab kernel with SIGINT. tslab's own SIGINT handler only abandons
 * the cell (it prints "Interrupted asynchronously" and answers the next request), while the cell's promise, the
 * training loop, would go on running in the background. So train() listens for SIGINT too, while it runs, and stops at
 * the next step boundary: the batch disposed, parameters and optimizer state those of the last completed step.
 */
import type { TrainResult } from "./types";

/** The signals a run can stop on: Ctrl-C or the kernel's interrupt, a `kill` or a container's stop, a closed terminal. */
export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Thrown by train() when it stops early: the kernel was interrupted, or the `signal` it was given was aborted. */
export class TrainingInterrupted extends Error {
  override readonly name = "TrainingInterrupted";

  constructor(
    /** Steps completed: the model holds the weights after this many steps. */
    readonly step: number,
    /** Everything recorded before the interruption. */
    readonly result: TrainResult,
    /** The process signal that stopped it; undefined when its AbortSignal did. */
    readonly byProcessSignal?: Signal,
  ) {
    super(`Training interrupted at step ${step}: the model keeps the weights of step ${step}; training can resume from there.`);
  }
}

export interface InterruptWatch {
  /** True once one of the signals has arrived since the watch began. */
  readonly interrupted: boolean;
  /** The first signal that arrived. */
  readonly signal?: Signal;
  /** Stops listening. */
  close(): void;
}

/**
 * Listens for `signals` (true: SIGINT) until closed. By default only for SIGINT and only when the process already
 * handles it, as the tslab kernel does: a plain Node script has no handler, and adding one would take away Ctrl-C's
 * default, exiting.
 */
export function watchInterrupts(enabled: boolean | Signal[] = hasSignals() && process.listenerCount("SIGINT") > 0): InterruptWatch {
  let arrived: Signal | undefined;
  const signals: Signal[] = enabled === true ? ["SIGINT"] : enabled === false ? [] : enabled;
  const listeners = signals.map((name) => [name, () => (arrived ??= name)] as const);
  const listening = hasSignals();
  if (listening) for (const [name, listener] of listeners) process.on(name, listener);
  return {
    get interrupted() {
      return arrived !== undefined;
    },
    get signal() {
      return arrived;
    },
    close: () => {
      if (listening) for (const [name, listener] of listeners) process.off(name, listener);
    },
  };
}

/** Node has signals; a browser has no `process` (there, train() stops on its `signal` only). */
const hasSignals = () => typeof process !== "undefined" && typeof process.on === "function";

/** Gives the event loop a turn: a pending signal, timer or message (a display update, the kernel's I/O) gets handled. */
export const nextTurn = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
