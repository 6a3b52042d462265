/**
 * Stopping training cleanly. Jupyter interrupts a tslab kernel with SIGINT. tslab's own SIGINT handler only abandons
 * the cell (it prints "Interrupted asynchronously" and answers the next request), while the cell's promise, the
 * training loop, would go on running in the background. So train() listens for SIGINT too, while it runs, and stops at
 * the next step boundary: the batch disposed, parameters and optimizer state those of the last completed step.
 */
import type { TrainResult } from "./types";

/** Thrown by train() when it stops early: the kernel was interrupted, or the `signal` it was given was aborted. */
export class TrainingInterrupted extends Error {
  override readonly name = "TrainingInterrupted";

  constructor(
    /** Steps completed: the model holds the weights after this many steps. */
    readonly step: number,
    /** Everything recorded before the interruption. */
    readonly result: TrainResult,
  ) {
    super(`Training interrupted at step ${step}: the model keeps the weights of step ${step}; training can resume from there.`);
  }
}

export interface InterruptWatch {
  /** True once SIGINT has arrived since the watch began. */
  readonly interrupted: boolean;
  /** Stops listening. */
  close(): void;
}

/**
 * Listens for SIGINT until closed. By default only when the process already handles SIGINT, as the tslab kernel
 * does: a plain Node script has no handler, and adding one would take away Ctrl-C's default, exiting.
 */
export function watchInterrupts(enabled = hasSignals() && process.listenerCount("SIGINT") > 0): InterruptWatch {
  let interrupted = false;
  const listener = () => {
    interrupted = true;
  };
  const listening = enabled && hasSignals();
  if (listening) process.on("SIGINT", listener);
  return {
    get interrupted() {
      return interrupted;
    },
    close: () => {
      if (listening) process.off("SIGINT", listener);
    },
  };
}

/** Node has signals; a browser has no `process` (there, train() stops on its `signal` only). */
const hasSignals = () => typeof process !== "undefined" && typeof process.on === "function";

/** Gives the event loop a turn: a pending signal, timer or message (a display update, the kernel's I/O) gets handled. */
export const nextTurn = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
