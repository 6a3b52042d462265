#!/usr/bin/env node
/**
 * npm run sweep [-- --minutes 5 --only A,B]
 * The search behind the CPU speedrun's settings: each candidate below trains on tiny Shakespeare for the same time
 * budget on this machine's CPU, one after another, and the table ranks them by val loss. docs/speedrun.md keeps the
 * table of the last sweep and says how the registry's cpu-speedrun entry was chosen from it. Run it on an idle machine.
 */
import * as os from "node:os";
import { configs, initBackend, lab } from "@build-gpt/lib";
import { helpText, parseCommand, runMain, UsageError, type CommandSpec } from "@build-gpt/lib/internal";
import { compared, trainOurs, type RunResult } from "./ours";

/** Candidate Q: six layers, block 128, lr 3e-3. */
const Q: Partial<configs.Settings> = { nLayer: 6, blockSize: 128, learningRate: 3e-3, minLr: 3e-4 };
/** T, Q with weight decay 0.3, and Y, T at a lower rate: the later candidates start from Q, T, Y, AC and AE. */
const T: Partial<configs.Settings> = { ...Q, weightDecay: 0.3 };
const Y: Partial<configs.Settings> = { ...T, learningRate: 2e-3, minLr: 2e-4 };
/** AC, Y with weight decay 0.2, and AE, AC with batch 8: cpu-speedrun's settings. */
const AC: Partial<configs.Settings> = { ...Y, weightDecay: 0.2 };
const AE: Partial<configs.Settings> = { ...AC, batchSize: 8 };

/** The candidates: settings over nanoGPT's CPU recipe (nanogpt-cpu: cosine schedule, AdamW's groups, clipping). */
export const CANDIDATES: Record<string, Partial<configs.Settings>> = {
  "nanogpt-cpu": {},
  "A: +dropout 0.1": { dropout: 0.1 },
  "B: 192, 6 layers, block 128, batch 16": { nEmbd: 192, nHead: 6, nLayer: 6, blockSize: 128, batchSize: 16, dropout: 0.1 },
  "C: 192, 4 layers, block 128, batch 24": { nEmbd: 192, nHead: 6, nLayer: 4, blockSize: 128, batchSize: 24, dropout: 0.1 },
  "D: 256, 4 layers, block 128, batch 16": { nEmbd: 256, nHead: 8, nLayer: 4, blockSize: 128, batchSize: 16, dropout: 0.15 },
  "E: 160, 5 layers, block 128, batch 24": { nEmbd: 160, nHead: 5, nLayer: 5, blockSize: 128, batchSize: 24, dropout: 0.1 },
  "F: 192, 6 layers, block 256, batch 8": { nEmbd: 192, nHead: 6, nLayer: 6, blockSize: 256, batchSize: 8, dropout: 0.1 },
  "G: 256, 6 layers, block 128, batch 16": { nEmbd: 256, nHead: 8, nLayer: 6, blockSize: 128, batchSize: 16, dropout: 0.2 },
  "H: block 128, dropout 0.1": { blockSize: 128, dropout: 0.1 },
  "I: 6 layers, block 128, dropout 0.1": { nLayer: 6, blockSize: 128, dropout: 0.1 },
  "J: block 128, dropout 0.2": { blockSize: 128, dropout: 0.2 },
  "K: block 128": { blockSize: 128 },
  "L: block 128, lr 3e-3": { blockSize: 128, learningRate: 3e-3, minLr: 3e-4 },
  "M: block 128, lr 5e-3": { blockSize: 128, learningRate: 5e-3, minLr: 5e-4 },
  "N: block 128, lr 2e-3": { blockSize: 128, learningRate: 2e-3, minLr: 2e-4 },
  "O: block 128, lr 3e-3 down to 0": { blockSize: 128, learningRate: 3e-3, minLr: 0 },
  "P: block 128, lr 3e-3, dropout 0.1": { blockSize: 128, learningRate: 3e-3, minLr: 3e-4, dropout: 0.1 },
  "Q: 6 layers, block 128, lr 3e-3": Q,
  "R: 160, 5 heads, block 128, lr 3e-3": { nEmbd: 160, nHead: 5, blockSize: 128, learningRate: 3e-3, minLr: 3e-4 },
  "S: Q with batch 8": { ...Q, batchSize: 8 },
  "T: Q with weight decay 0.3": T,
  "V: Q with batch 8, weight decay 0.3": { ...T, batchSize: 8 },
  "W: Q with batch 8, weight decay 0.6": { ...Q, batchSize: 8, weightDecay: 0.6 },
  "X: T with 8 layers": { ...T, nLayer: 8 },
  "Y: T with lr 2e-3": Y,
  "Z: Y with block 256, batch 6": { ...Y, blockSize: 256, batchSize: 6 },
  "AA: Y with weight decay 0.45": { ...Y, weightDecay: 0.45 },
  "AB: Y with block 64, batch 24": { ...Y, blockSize: 64, batchSize: 24 },
  "AC: Y with weight decay 0.2": AC,
  "AD: AC with weight decay 0.1": { ...AC, weightDecay: 0.1 },
  "AE: AC with batch 8": AE,
  "AF: AC with batch 6": { ...AC, batchSize: 6 },
  "AG: AE with lr 1.5e-3": { ...AE, learningRate: 1.5e-3, minLr: 1.5e-4 },
};

export const SWEEP_COMMAND = {
  name: "sweep",
  summary: "Trains each speedrun candidate for the same time budget and ranks them by val loss.",
  options: {
    minutes: { type: "number", arg: "M", help: "the time budget of each candidate in minutes (default 5)" },
    only: { type: "string", arg: "A,B,...", help: `the candidates to run, by their first word (default all: ${Object.keys(CANDIDATES).map((k) => k.split(":")[0]).join(", ")})` },
    lr: { type: "number", arg: "LR", help: "the peak learning rate of every candidate (default each candidate's own, the recipe's 1e-3 where it sets none; minLr a tenth of it)" },
  },
} as const satisfies CommandSpec;

async function main(): Promise<void> {
  const args = parseCommand(process.argv.slice(2), SWEEP_COMMAND);
  if (args.help) return console.log(helpText(SWEEP_COMMAND));
  const minutes = args.values.minutes ?? 5;
  if (!(minutes > 0)) throw new UsageError(`--minutes takes a number of minutes > 0, got ${minutes}.`);
  const only = args.values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const chosen = Object.entries(CANDIDATES).filter(([name]) => !only || only.includes(name.split(":")[0]));
  if (chosen.length === 0) throw new UsageError(`--only ${args.values.only} names no candidate. The candidates: ${Object.keys(CANDIDATES).join("; ")}.`);
  const lr = args.values.lr === undefined ? {} : { learningRate: args.values.lr, minLr: args.values.lr / 10 };
  const backend = await initBackend();
  console.log(`${backend.description}\n${os.cpus()[0]?.model} (${os.cpus().length} cores), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${minutes} min a candidate`);
  const results: RunResult[] = [];
  for (const [name, settings] of chosen) {
    const c = compared(configs.withOverrides(configs.named("nanogpt-cpu"), { ...settings, ...lr, maxMinutes: minutes, maxIters: 100_000_000, evalIters: 100 }));
    const r = await trainOurs(c, 1337, name);
    results.push(r);
    console.log(`${name}: val ${r.val.toFixed(4)} (train ${r.train.toFixed(4)}) after ${r.steps} steps, ${(r.tokens / 1e6).toFixed(1)}M tokens`);
  }
  results.sort((a, b) => a.val - b.val);
  console.log(`\n${lab.rowsText(results.map((r) => ({ candidate: r.run, "val loss": r.val, "train loss": r.train, steps: r.steps, "tokens (M)": Number((r.tokens / 1e6).toFixed(1)) })))}`);
}

if (require.main === module) runMain(main);
