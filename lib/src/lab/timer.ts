/** Timing a piece of work in a lesson: warm-up runs first (the engine sets up its kernels), then the median of several. */
import * as tf from "@tensorflow/tfjs";

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

/**
 * Times `work` `repeat` times after `warmup` untimed runs. A tensor it returns is read before the clock stops (on a GPU
 * the work is only queued until then) and disposed.
 */
export async function timeIt(work: () => unknown, { repeat = 5, warmup = 1 } = {}): Promise<Timing> {
  if (!(Number.isInteger(repeat) && repeat >= 1 && Number.isInteger(warmup) && warmup >= 0)) {
    throw new Error(`timeIt: repeat must be a whole number >= 1 and warmup >= 0, got ${repeat} and ${warmup}.`);
  }
  const once = async () => {
    const result = await work();
    if (result instanceof tf.Tensor) {
      await result.data();
      result.dispose();
    }
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const medianMs = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { medianMs, minMs: times[0], maxMs: times[times.length - 1], runs: repeat };
}
