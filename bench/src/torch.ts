/**
 * The benchmark's PyTorch side as a process that takes turns with ours (bench/torch_bench.py): it is started once,
 * then asked for a few training steps at a time, so that the benchmark alternates between its steps and ours. A
 * machine's speed drifts over seconds, and two runs one after the other would compare different moments.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import type { configs } from "@build-gpt/lib";

/** What a PyTorch process reports about itself: version, mode, BLAS, threads. */
export interface TorchInfo {
  torch: string;
  mode: "eager" | "torch.compile";
  blas: string;
  threads: number;
  /** The instruction set ATen's kernels run on (torch.backends.cpu.get_cpu_capability(), PyTorch 2.x): "AVX512", "AVX2". */
  capability?: string;
  /** The GPU's name, when the spec asked for "device": "cuda". */
  gpu?: string;
}

/** One model as torch_bench.py reads it from the spec. */
export interface TorchModelSpec {
  name: string;
  config: { nEmbd: number; nHead: number; nLayer: number; blockSize: number; dropout: number };
  batchSize: number;
  learningRate: number;
  steps: number;
}

/** A registry configuration as torch_bench.py reads it, under the report's `name`, timed for `steps` steps. */
export function torchModelSpec(name: string, c: configs.Config, steps: number): TorchModelSpec {
  const { nEmbd, nHead, nLayer, blockSize, dropout } = c;
  return { name, config: { nEmbd, nHead, nLayer, blockSize, dropout }, batchSize: c.batchSize, learningRate: c.learningRate, steps };
}

/**
 * The environment that holds PyTorch to AVX2 on a CPU with AVX-512: ATen's own kernels, oneDNN's and MKL's. With ours
 * on its AVX2 path, a stand-in for a machine without AVX-512 (`npm run bench -- --avx2-only`).
 */
export const AVX2_ONLY_ENV: Record<string, string> = { ATEN_CPU_CAPABILITY: "avx2", ONEDNN_MAX_CPU_ISA: "AVX2", MKL_ENABLE_INSTRUCTIONS: "AVX2" };

/** bench/torch_bench.py, beside this file's folder (bench/dist). */
const SCRIPT = path.resolve(__dirname, "..", "torch_bench.py");

/** The PyTorch installations to time: Debian's (PYTHON, default /usr/bin/python3) and .venv-bench's (npm run setup:bench). */
function torchPythons(): string[] {
  const venv = path.resolve(__dirname, "..", "..", ".venv-bench", "bin", "python");
  return [...new Set([process.env.PYTHON ?? "/usr/bin/python3", venv])];
}

/** The version of the PyTorch that `python` imports; undefined where it has none. */
export function torchVersion(python: string): string | undefined {
  const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** One PyTorch process (an installation, eager or torch.compile), answering one request at a time. */
export class TorchYardstick {
  /** Why it stopped answering, once it has. */
  failed?: string;
  info?: TorchInfo;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: string[] = [];
  private waiting?: (line: string | undefined) => void;
  private stderr = "";
  private exited = false;

  constructor(readonly python: string, readonly label: string, spec: object, env: Record<string, string> = {}) {
    this.child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.child.stdin.on("error", () => {}); // a process that died: its exit says why
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => this.deliver(line));
    this.child.on("exit", (code) => {
      this.exited = true;
      this.failed ??= this.stderr.trim().split("\n").pop() || `exit status ${code}`;
      this.deliver(undefined);
    });
    this.child.on("error", (err) => { // it did not start (no such python)
      this.exited = true;
      this.failed ??= `${python} did not start (${err.message})`;
      this.deliver(undefined);
    });
    this.child.stdin.write(JSON.stringify(spec) + "\n");
  }

  private deliver(line: string | undefined): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve(line);
    } else if (line !== undefined) {
      this.answers.push(line);
    }
  }

  private next(): Promise<string | undefined> {
    if (this.answers.length > 0) return Promise.resolve(this.answers.shift());
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Sends one request and waits for its answer; undefined once the process has failed (see `failed`). */
  async request<T>(request?: object): Promise<T | undefined> {
    if (this.failed) return undefined;
    if (request) this.child.stdin.write(JSON.stringify(request) + "\n");
    const line = await this.next();
    if (line === undefined) return undefined;
    try {
      return JSON.parse(line) as T;
    } catch {
      this.failed = `unexpected output: ${line.slice(0, 200)}`;
      this.close();
      return undefined;
    }
  }

  /** Waits for the process to start (import torch): its first answer. */
  async started(): Promise<boolean> {
    this.info = await this.request<TorchInfo>();
    return this.info !== undefined;
  }

  close(): void {
    if (!this.exited) this.child.stdin.end();
  }
}

/**
 * Starts every PyTorch found, eagerly and (2.x) with torch.compile, each in its own process, and waits until each has
 * imported torch (so that none is busy while ours is timed); a string when none is installed.
 */
export async function startYardsticks(spec: object, env: Record<string, string> = {}): Promise<TorchYardstick[] | string> {
  const yardsticks: TorchYardstick[] = [];
  for (const python of torchPythons()) {
    const version = torchVersion(python);
    if (version === undefined) continue;
    for (const compile of Number(version.split(".")[0]) >= 2 ? [false, true] : [false]) {
      yardsticks.push(new TorchYardstick(python, `PyTorch ${version} ${compile ? "torch.compile" : "eager"}`, { ...spec, compile }, env));
    }
  }
  if (yardsticks.length === 0) return "PyTorch not found (sudo apt install python3-torch libopenblas0-openmp, or npm run setup:bench for PyTorch 2.x)";
  await Promise.all(yardsticks.map((y) => y.started()));
  return yardsticks;
}
