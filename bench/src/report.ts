/** The benchmark's report: the tables and lines `npm run bench` prints once everything is measured. */
import type { configs } from "@build-gpt/lib";
import { fmt, evaluationsOf, PROJECTION_STEPS, PROJECTION_WARMUP, TURNS, type Projection, type Spread, type Timing, type TurnsResult } from "./harness";
import { GPT_PY_BATCH, labelOf } from "./models";
import type { TorchYardstick } from "./torch";

/** Everything the benchmark measured, for the report. */
export interface Measured {
  /** The run's --steps and --warmup. */
  steps: number;
  warmup: number;
  /** gpt.py's model: its configuration (at the benchmark's batch) and timed steps. */
  scaled: { config: configs.Config; steps: number };
  /** Our engine, in words. */
  engine: string;
  turns: (TurnsResult & { name: string })[];
  noise: Spread;
  /** The same models on the other routes, where they ran. */
  avx2?: Timing[];
  unfused?: Timing[];
  before?: Timing[];
  ladder: (Projection & { config: configs.Config })[];
  charsPerSec: number;
  /** "PyTorch 2.15.0 eager 920" for each PyTorch that generated. */
  torchGeneration: string[];
  /** The PyTorch processes, or why none ran. */
  torch: TorchYardstick[] | string;
}

const table = (head: string[], rows: string[][]) => [head, head.map(() => "---"), ...rows].map((r) => r.join(" | ")).forEach((l) => console.log(l));
const range = (s: Spread) => `${fmt(s.medianMs)} (${fmt(s.minMs)}-${fmt(s.maxMs)})`;

function printTraining(m: Measured): void {
  console.log(`\ntraining step (forward + backward + AdamW), median of ${m.steps} after ${m.warmup} warm-up steps; gpt.py: ${m.scaled.steps} steps at batch ${m.scaled.config.batchSize}`);
  console.log(`ours: ${m.engine}, fused kernels on; unfused: GPT_FUSED=0; before: the WebAssembly kernels alone (GPT_NATIVE=0)`);
  const head = ["model", "params", "ms/step", "min-max", "max/median", "tokens/s", "peak RSS MB", ...(m.avx2 ? ["AVX2 ms/step"] : []), ...(m.unfused ? ["unfused ms/step"] : []), "before ms/step"];
  const rows = m.turns.map(({ ours: t }, i) => [t.name, String(t.params), fmt(t.medianMs), `${fmt(t.minMs)}-${fmt(t.maxMs)}`, fmt(t.maxMs / t.medianMs, 2), String(Math.round(t.tokensPerSec)),
    fmt(t.peakRssMB, 0), ...(m.avx2 ? [fmt(m.avx2[i].medianMs)] : []), ...(m.unfused ? [fmt(m.unfused[i].medianMs)] : []), m.before ? fmt(m.before[i].medianMs) : "-"]);
  table(head, rows);
  const n = m.noise;
  console.log(`this machine's own spread, a fixed ${fmt(n.medianMs)} ms JavaScript loop timed 40 times: ${fmt(n.minMs)}-${fmt(n.maxMs)} ms, max/median ${fmt(n.maxMs / n.medianMs, 2)}`);
}

/** Each PyTorch (installation and mode) that timed every model, its median and min-max, and ours against the fastest. */
function printTorch(m: Measured): void {
  const yardsticks = typeof m.torch === "string" ? [] : m.torch;
  const ran = yardsticks.map((y, j) => ({ y, j })).filter(({ j }) => m.turns.every((t) => t.theirs[j] !== undefined));
  if (ran.length === 0) return;
  console.log(`\nPyTorch, same models and steps, taking turns with ours (${TURNS} turns a model; gpt.py's: one a step), all ${ran[0].y.info!.threads} threads; ratios against the fastest PyTorch for each model`);
  const head = ["model", "ours ms/step (min-max)", ...ran.map(({ y }) => `${y.label} ms/step (min-max)`), "fastest", "ours/fastest", ...(m.before ? ["before/fastest"] : [])];
  const rows = m.turns.map(({ ours: t, theirs: all }, i) => {
    const theirs = ran.map(({ j }) => all[j]!);
    const best = theirs.reduce((a, b, k) => (b.medianMs < theirs[a].medianMs ? k : a), 0);
    const ratio = (ms: number) => fmt(ms / theirs[best].medianMs, 2);
    return [t.name, range(t), ...theirs.map(range), ran[best].y.label, ratio(t.medianMs), ...(m.before ? [ratio(m.before[i].medianMs)] : [])];
  });
  table(head, rows);
  const firsts = m.turns.filter((t) => t.firsts).map((t) => `${t.name}: ours ${range(t.firsts!.ours)}, ${ran.map(({ y, j }) => `${y.label} ${t.firsts!.theirs[j] ? range(t.firsts!.theirs[j]!) : "-"}`).join(", ")}`);
  console.log(`each turn's first step, timed apart from the medians above (the first after the other side's turn), median (min-max) ms: ${firsts.join("; ")}`);
}

function printProjections(m: Measured): void {
  const full = m.turns.find((t) => t.ours.name === labelOf(m.scaled.config))!.ours;
  const hours = (full.medianMs * (GPT_PY_BATCH / m.scaled.config.batchSize) * 5000) / 3.6e6;
  console.log(`\ngpt.py model (timed at batch ${m.scaled.config.batchSize}), 5000 steps at batch ${GPT_PY_BATCH}: ${fmt(hours, 1)} hours here (the lecture: about 15 minutes on an A100)`);
  console.log(`\nfull settings, projected from the median of ${PROJECTION_STEPS} training steps and ${PROJECTION_STEPS} evaluation batches after ${PROJECTION_WARMUP} warm-up ones (npm run ladder measures them):`);
  for (const { config: c, seconds, stepMs, evalMs } of m.ladder) {
    console.log(`  ${c.name.padEnd(15)} ${String(c.maxIters).padStart(5)} steps × ${fmt(stepMs, 2)} ms + ${evaluationsOf(c)} × 2 × ${c.evalIters} evaluations × ${fmt(evalMs, 2)} ms ≈ ${fmt(seconds / 60, 1)} min`);
  }
  console.log(`  the whole ladder ≈ ${fmt(m.ladder.reduce((a, l) => a + l.seconds, 0) / 60, 1)} min`);
}

function printEnd(m: Measured): void {
  console.log(`generation, model A, 500 characters: ${fmt(m.charsPerSec, 0)} chars/s` + (m.torchGeneration.length ? `; ${m.torchGeneration.join("; ")} chars/s` : ""));
  if (typeof m.torch === "string") return console.log(`PyTorch: ${m.torch}`);
  for (const y of m.torch) {
    console.log(y.info && !y.failed ? `${y.label}: BLAS ${y.info.blas}, ${y.info.threads} threads${y.info.capability ? `, ATen on ${y.info.capability}` : ""}` : `${y.label}: failed (${y.failed})`);
  }
}

/** The timings, in the order the benchmark has always printed them. */
export function printReport(m: Measured): void {
  printTraining(m);
  printTorch(m);
  printProjections(m);
  printEnd(m);
}

/** The maths checks' lines: the routes' largest loss differences over 50 seeded steps, and AVX-512 against AVX2. */
export function printMathsChecks(nativeVsWasm: number, fusedVsUnfused: number, finalLoss: number, avx2Same?: boolean): void {
  const within = (d: number) => (d <= 1e-4 ? "within" : "NOT within");
  console.log(`\nmaths check, model A, 50 seeded steps: largest |loss(native) - loss(WebAssembly)| = ${nativeVsWasm.toExponential(2)} (${within(nativeVsWasm)} 1e-4; final loss ${fmt(finalLoss, 4)})`);
  console.log(`maths check, fused kernels against unfused (GPT_FUSED=0): largest loss difference ${fusedVsUnfused.toExponential(2)} (${within(fusedVsUnfused)} 1e-4)`);
  if (avx2Same !== undefined) console.log(`maths check, AVX-512 against AVX2: the 50 losses are ${avx2Same ? "the same, bit for bit" : "NOT the same"}`);
}

export function printLeakCheck(tensorsAt10: number, tensorsAtEnd: number, steps: number): void {
  console.log(`tensors after step 10: ${tensorsAt10}; after step ${steps}: ${tensorsAtEnd} (${tensorsAt10 === tensorsAtEnd ? "no leak" : "LEAK"})`);
}
