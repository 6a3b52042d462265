/**
 * The speedrun's PyTorch side: bench/torch_train.py trains the same model with the same recipe and budget in
 * PyTorch 2.x (.venv-bench, from npm run setup:bench), eagerly or with torch.compile.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import type { configs } from "@build-gpt/lib";
import type { RunResult } from "./ours";

const SCRIPT = path.resolve(__dirname, "..", "..", "torch_train.py");
const VENV_PYTHON = path.resolve(__dirname, "..", "..", "..", ".venv-bench", "bin", "python");

/** The Python of .venv-bench, or undefined with why. */
export function benchPython(): { python?: string; why?: string } {
  return existsSync(VENV_PYTHON) ? { python: VENV_PYTHON } : { why: "no PyTorch 2.x in .venv-bench: run npm run setup:bench" };
}

/** Trains `c` for its maxMinutes in PyTorch (`compile`: with torch.compile) on the text at `data`. */
export function trainTorch(python: string, c: configs.Config, data: string, compile: boolean, seed = 1337): Promise<RunResult> {
  const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
  child.stdin.end(JSON.stringify({ ...c, data, compile, seed }));
  return new Promise((resolve, reject) => {
    let done: RunResult | undefined;
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const r = JSON.parse(line) as { done?: boolean; step: number; train: number; val: number; seconds: number; tokens?: number; mode?: string; torch?: string };
      if (r.done) done = { run: `PyTorch ${r.torch} ${r.mode}: ${c.name}`, val: r.val, train: r.train, steps: r.step, tokens: r.tokens!, seconds: r.seconds };
    });
    child.on("error", reject);
    child.on("exit", (code) => (done ? resolve(done) : reject(new Error(`bench/torch_train.py exited with ${code} before its result`))));
  });
}
