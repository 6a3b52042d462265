#!/usr/bin/env node
/**
 * The GPU run's side-by-side timing (scripts/gpu-run.sh): a configuration's training step (forward, backward, AdamW;
 * gpt.py's model at batch 64, block 256 by default) on our engine, then on PyTorch eager (bench/torch_bench.py, on
 * CUDA by default), and ours ÷ PyTorch's. Ours also times an evaluation batch, to project the configuration's whole
 * run (maxIters steps and every evaluation). Ours reads each step's loss asynchronously, as training does: a GPU
 * backend cannot read synchronously.
 *   GPT_BACKEND=webgpu node bench/dist/gpu/step-time.js [--config gpt-py] [--key value ...] [--steps 10] [--warmup 3]
 *                      [--device cuda|cpu] [--python python3] [--results DIR]
 */
import { CharTokenizer, configs, initBackend, loadTinyShakespeare, trainValSplit } from "@build-gpt/lib";
import { parseCommand, runMain, UsageError, type CommandSpec } from "@build-gpt/lib/internal";
import { fmt, projectFullSettings, spread, type Projection } from "../harness";
import { TorchYardstick, torchModelSpec, torchVersion } from "../torch";
import { partHelp, writeResult, type TimingResult } from "./results";

const STEP_TIME_COMMAND: CommandSpec = {
  name: "gpu:step-time",
  summary: "Times a configuration's training step on our engine (GPT_BACKEND) and on PyTorch eager, side by side.",
  options: {
    config: { type: "string", arg: "NAME", help: "the configuration (default gpt-py); configuration keys override it" },
    steps: { type: "positive", help: "timed steps on each side (default 10)" },
    warmup: { type: "count", help: "untimed steps first, on each side (default 3)" },
    device: { type: "string", arg: "DEV", help: "PyTorch's device: cuda (default) or cpu" },
    python: { type: "string", arg: "PATH", help: "the Python that has PyTorch (default: $PYTHON, else python3)" },
    results: { type: "string", arg: "DIR", help: "write timings.json there" },
  },
  overrides: true,
};

/** PyTorch's steps on the same configuration, or why there are none. */
async function timeTorch(c: configs.Config, vocabSize: number, steps: number, warmup: number, device: string, python: string): Promise<TimingResult["torch"]> {
  const version = torchVersion(python);
  if (version === undefined) return { skipped: `${python} has no PyTorch` };
  const label = `PyTorch ${version} eager (${device})`;
  const yardstick = new TorchYardstick(python, label, { models: [torchModelSpec(c.name, c, steps)], warmup, vocabSize, device });
  try {
    const answer = (await yardstick.started()) ? await yardstick.request<{ times: number[] }>({ model: c.name, steps, last: true }) : undefined;
    if (!answer) return { skipped: `${label} failed: ${yardstick.failed}` };
    return { label, gpu: yardstick.info?.gpu, ...spread(answer.times) };
  } finally {
    yardstick.close();
  }
}

function reportOurs(o: TimingResult["ours"], config: string): void {
  console.log(`ours: ${fmt(o.medianMs)} ms/step (${fmt(o.minMs)}-${fmt(o.maxMs)}), an evaluation batch ${fmt(o.evalBatchMs)} ms`);
  console.log(`${config} at its settings (${o.maxIters} steps and its evaluations) at this pace: about ${fmt(o.projectedMinutes)} min`);
}

function reportTorch(r: TimingResult): void {
  if ("skipped" in r.torch) return console.log(`PyTorch: not timed (${r.torch.skipped})`);
  console.log(`${r.torch.label}${r.torch.gpu ? ` on ${r.torch.gpu}` : ""}: ${fmt(r.torch.medianMs)} ms/step (${fmt(r.torch.minMs)}-${fmt(r.torch.maxMs)})`);
  console.log(`ours ÷ PyTorch: ${fmt(r.ratio!, 2)}`);
}

async function main(): Promise<void> {
  const args = parseCommand(process.argv.slice(2), STEP_TIME_COMMAND);
  if (args.help) return console.log(partHelp(STEP_TIME_COMMAND, "node bench/dist/gpu/step-time.js [options] [--config NAME] [--key value ...]"));
  const device = (args.values.device as string | undefined) ?? "cuda";
  if (!["cuda", "cpu"].includes(device)) throw new UsageError(`--device takes cuda or cpu, got ${JSON.stringify(device)}.`);
  const c = configs.withOverrides(configs.named((args.values.config as string | undefined) ?? "gpt-py"), args.overrides);
  const steps = (args.values.steps as number | undefined) ?? 10;
  const warmup = (args.values.warmup as number | undefined) ?? 3;
  console.log((await initBackend(undefined, { workload: configs.workloadOf(c) })).description);
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const { train } = trainValSplit(tokenizer.encode(text));
  console.log(`${c.name}: batch ${c.batchSize}, block ${c.blockSize}, ${warmup} warm-up and ${steps} timed steps on each side`);
  const p: Projection = await projectFullSettings(c, train, tokenizer.vocabSize, steps, warmup);
  const ours = { ...p.steps, evalBatchMs: p.evalMs, projectedMinutes: p.seconds / 60, maxIters: c.maxIters };
  reportOurs(ours, c.name);
  const save = (r: TimingResult) => args.values.results && writeResult(args.values.results as string, "timings.json", r);
  const base = { config: c.name, batchSize: c.batchSize, blockSize: c.blockSize, steps, warmup, ours };
  save({ ...base, torch: { skipped: "not timed yet (the part stopped before PyTorch answered)" } }); // kept should PyTorch not answer in time
  const python = (args.values.python as string | undefined) ?? process.env.PYTHON ?? "python3";
  const torch = await timeTorch(c, tokenizer.vocabSize, steps, warmup, device, python);
  const result: TimingResult = { ...base, torch, ratio: "skipped" in torch ? undefined : p.stepMs / torch.medianMs };
  reportTorch(result);
  save(result);
}

if (require.main === module) runMain(main);
