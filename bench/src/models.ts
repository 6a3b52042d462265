/**
 * The models the benchmark times, each a configuration of the library's registry (configs.named), and how many steps
 * it times: model A is the lecture notebook's final model, B nanoGPT's CPU setting, and gpt.py's model runs with
 * nanoGPT's batched attention (the layout bench/torch_bench.py builds) at batch 8 for a few steps: at its own batch of
 * 64 the wasm backend runs out of WebAssembly memory, so the 5000-step projection scales the batch-8 step to 64.
 */
import { configs } from "@build-gpt/lib";

export const BENCH_MODELS: readonly configs.Config[] = [
  configs.named("notebook-final"),
  configs.named("nanogpt-cpu"),
  configs.withOverrides(configs.named("gpt-py"), { attention: "batched", batchSize: 8 }),
];

/** The name each model has in the report (and in requests to PyTorch). */
const LABELS: Record<string, string> = { "notebook-final": "A", "nanogpt-cpu": "B", "gpt-py": "gpt.py" };
export const labelOf = (c: configs.Config): string => LABELS[c.name] ?? c.name;

/** gpt.py's own batch size, for the projection. */
export const GPT_PY_BATCH = configs.named("gpt-py").batchSize;

/**
 * Warm-up steps before the timed ones, on both sides: ours runs its first steps slower while V8 compiles tfjs's
 * JavaScript to optimised code, which takes about a hundred steps of model A; a lesson trains for thousands of steps,
 * so the benchmark times the steps after that.
 */
export const DEFAULT_WARMUP = 120;
/** Timed steps of models A and B: the machine's speed drifts over seconds, and a median of 40 steps in 8 turns holds. */
export const DEFAULT_STEPS = 40;
/** gpt.py's model (a step takes a second or more on a CPU): a few timed steps after one warm-up step. */
const SCALED_STEPS = 3;
const SCALED_WARMUP = 1;

/** gpt.py's model: timed for a few steps only. */
export const isScaled = (c: configs.Config) => configs.workloadOf(c) === "scaled";
/** Timed steps of a model, given the run's --steps. */
export const stepsOf = (c: configs.Config, steps: number): number => (isScaled(c) ? SCALED_STEPS : steps);
/** Warm-up steps of a model, given the run's --warmup. */
export const warmupOf = (c: configs.Config, warmup: number): number => (isScaled(c) ? SCALED_WARMUP : warmup);
