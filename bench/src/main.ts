#!/usr/bin/env node
/**
 * npm run bench [-- --steps 40 --warmup 120 --leak-steps 1000 --no-torch --avx2-only]
 * Times training steps (forward, backward, AdamW) of the course's CPU-sized models, the full gpt.py model for a few
 * steps, and generation, on the native CPU kernels, against every PyTorch installed (Debian's python3-torch; a
 * PyTorch 2.x in .venv-bench from `npm run setup:bench`, eagerly and with torch.compile; bench/torch_bench.py), taking
 * turns with them (./torch), and prints each and ours ÷ the fastest, with this machine's own spread (a fixed loop);
 * each turn's first step is timed apart.
 * Then the same models on the older instruction set (AVX2), without the fused kernels, and on the WebAssembly kernels
 * alone (the route before the native ones). Then checks that the routes' 50 seeded losses agree within 1e-4, and that
 * training leaks no tensors (the count after step 10 and after step 1000). Also projects each ladder step's time at
 * full settings (the notebook's final model: 5000 steps) from its measured training step and evaluation batch.
 * --avx2-only stands in for a machine without AVX-512: the whole run on our AVX2 path, each PyTorch held to AVX2.
 * The measurements are in ./harness, the PyTorch side in ./torch, the tables in ./report.
 */
import { CharTokenizer, configs, initBackend, loadTinyShakespeare, trainValSplit } from "@build-gpt/lib";
import { helpText, nativeKernels, nativeKernelsStatus, parseCommand, runMain, UsageError, withFusedKernels, withNativeIsa, withNativeKernels, type CommandSpec } from "@build-gpt/lib/internal";
import { hostNoise, projectFullSettings, seededRun, timeGeneration, timeInTurns, timeTraining, fmt, type Timing } from "./harness";
import { BENCH_MODELS, DEFAULT_STEPS, DEFAULT_WARMUP, isScaled, labelOf, stepsOf, warmupOf } from "./models";
import { printLeakCheck, printMathsChecks, printReport, type Measured } from "./report";
import { AVX2_ONLY_ENV, startYardsticks, torchModelSpec, type TorchYardstick } from "./torch";

export const BENCH_COMMAND: CommandSpec = {
  name: "bench",
  summary: "Times training steps and generation of the course's models (ours, and PyTorch's when installed), and checks for leaks.",
  options: {
    steps: { type: "positive", help: `training steps timed per model, after the warm-up (default ${DEFAULT_STEPS}; gpt.py's model: 3)` },
    warmup: { type: "count", help: `warm-up training steps, not timed (default ${DEFAULT_WARMUP}; gpt.py's model: 1)` },
    "leak-steps": { type: "positive", help: "training steps of the leak check (default 1000; at least 10)" },
    "no-torch": { type: "boolean", help: "skip the PyTorch comparison" },
    "avx2-only": { type: "boolean", help: "as on a CPU without AVX-512: ours on its AVX2 path (GPT_NATIVE_ISA=avx2), PyTorch held to AVX2 (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS)" },
  },
};

interface Options {
  steps: number;
  warmup: number;
  leakSteps: number;
  torch: boolean;
  avx2Only: boolean;
}

/** The options of the command line, or undefined after printing --help. */
function readOptions(argv: string[]): Options | undefined {
  const args = parseCommand(argv, BENCH_COMMAND);
  if (args.help) {
    console.log(helpText(BENCH_COMMAND));
    return undefined;
  }
  const leakSteps = (args.values["leak-steps"] as number | undefined) ?? 1000;
  if (leakSteps < 10) throw new UsageError(`--leak-steps must be at least 10 (the check compares the tensor count after step 10 with the last), got ${leakSteps}.`);
  return {
    steps: (args.values.steps as number | undefined) ?? DEFAULT_STEPS,
    warmup: (args.values.warmup as number | undefined) ?? DEFAULT_WARMUP,
    leakSteps,
    torch: args.values["no-torch"] !== true,
    avx2Only: args.values["avx2-only"] === true,
  };
}

/** The engine and the data every measurement shares. */
interface Setup {
  train: Int32Array;
  vocab: number;
  /** Our engine, in words. */
  engine: string;
  /** The native CPU kernels run (the other routes are timed against them). */
  native: boolean;
}

async function prepare(o: Options): Promise<Setup> {
  if (o.avx2Only) process.env.GPT_NATIVE_ISA = "avx2"; // read when the native kernels load: the whole run, as on a CPU without AVX-512
  const backend = await initBackend();
  console.log(backend.description);
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const { train } = trainValSplit(tokenizer.encode(text));
  const native = backend.name === "wasm" && nativeKernels() !== undefined;
  if (o.avx2Only) {
    if (!native) throw new UsageError(`--avx2-only needs the native CPU kernels: ${nativeKernelsStatus()}`);
    console.log(`--avx2-only: ours on the AVX2 path; PyTorch with ${Object.entries(AVX2_ONLY_ENV).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  return { train, vocab: tokenizer.vocabSize, engine: backend.name === "wasm" ? nativeKernelsStatus() : backend.name, native };
}

/**
 * Starts every PyTorch installed, which imports torch in its own process and then waits while ours runs: the main
 * comparison takes turns (timeInTurns), so both sides see the same moments of this machine.
 */
async function startTorch(o: Options, s: Setup): Promise<TorchYardstick[] | string> {
  if (!o.torch) return "skipped (--no-torch)";
  const models = BENCH_MODELS.map((c) => torchModelSpec(labelOf(c), c, stepsOf(c, o.steps)));
  return startYardsticks({ models, warmup: o.warmup, vocabSize: s.vocab }, o.avx2Only ? AVX2_ONLY_ENV : {});
}

/** Every model on another route of ours, alone. */
async function timeRoute(o: Options, s: Setup): Promise<Timing[]> {
  const out: Timing[] = [];
  for (const c of BENCH_MODELS) out.push(await timeTraining(c, s.train, s.vocab, stepsOf(c, o.steps), warmupOf(c, o.warmup)));
  return out;
}

/** Generation speed, ours and each PyTorch's (which then exits). */
async function timeGenerations(s: Setup, yardsticks: TorchYardstick[]): Promise<{ charsPerSec: number; torchGeneration: string[] }> {
  const charsPerSec = await timeGeneration(BENCH_MODELS[0], s.vocab, 500);
  const torchGeneration: string[] = [];
  for (const y of yardsticks) {
    const answer = await y.request<{ charsPerSec: number | null }>({ generate: 500 });
    if (answer?.charsPerSec) torchGeneration.push(`${y.label} ${fmt(answer.charsPerSec, 0)}`);
    y.close();
  }
  return { charsPerSec, torchGeneration };
}

async function measure(o: Options, s: Setup, torch: TorchYardstick[] | string): Promise<Measured> {
  const yardsticks = typeof torch === "string" ? [] : torch;
  const noise = hostNoise();
  const turns: Measured["turns"] = [];
  for (const c of BENCH_MODELS) turns.push({ name: labelOf(c), ...(await timeInTurns(c, s.train, s.vocab, stepsOf(c, o.steps), warmupOf(c, o.warmup), yardsticks)) });
  // Each ladder step's full-settings time, projected on the route the lessons take (before the other routes below).
  const ladder: Measured["ladder"] = [];
  for (const c of configs.ladder) ladder.push({ config: c, ...(await projectFullSettings(c, s.train, s.vocab)) });
  // The older instruction set, where the matmul runs on AVX-512: the same models on GPT_NATIVE_ISA=avx2's path.
  const avx2 = s.native && nativeKernels()!.isa() === "AVX-512" ? await withNativeIsa("avx2", () => timeRoute(o, s)) : undefined;
  // The native kernels without the fused ones (GPT_FUSED=0): LayerNorm, the causal softmax and cross-entropy op by op.
  const unfused = s.native ? await withFusedKernels(false, () => timeRoute(o, s)) : undefined;
  // The route before the native kernels: the same models on the WebAssembly kernels alone.
  const before = s.native ? await withNativeKernels(false, () => timeRoute(o, s)) : undefined;
  const scaled = BENCH_MODELS.find(isScaled)!;
  return {
    steps: o.steps, warmup: o.warmup, scaled: { config: scaled, steps: stepsOf(scaled, o.steps) }, engine: s.engine,
    turns, noise, avx2, unfused, before, ladder, ...(await timeGenerations(s, yardsticks)), torch,
  };
}

/** The maths is unchanged: 50 seeded steps of model A give the same losses on every route. */
async function mathsChecks(s: Setup): Promise<void> {
  const a: configs.Config = BENCH_MODELS[0];
  const run = async () => (await seededRun(a, s.train, s.vocab, 50)).losses;
  const largest = (x: number[], y: number[]) => Math.max(...x.map((l, i) => Math.abs(l - y[i])));
  const native = await run();
  const wasm = await withNativeKernels(false, run);
  const unfused = await withFusedKernels(false, run);
  const avx2 = nativeKernels()!.isa() === "AVX-512" ? await withNativeIsa("avx2", run) : undefined;
  printMathsChecks(largest(native, wasm), largest(native, unfused), native[49], avx2 ? avx2.every((l, i) => l === native[i]) : undefined);
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  if (!o) return;
  const s = await prepare(o);
  const torch = await startTorch(o, s);
  printReport(await measure(o, s, torch));
  if (s.native) await mathsChecks(s);
  const leak = await seededRun(BENCH_MODELS[0], s.train, s.vocab, o.leakSteps);
  printLeakCheck(leak.tensorsAt10, leak.tensorsAtEnd, o.leakSteps);
}

if (require.main === module) runMain(main);
