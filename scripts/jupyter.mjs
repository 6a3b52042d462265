#!/usr/bin/env node
// npm start: opens the lessons in JupyterLab (or the classic Notebook) with this project's tslab kernel.
// npm run test:notebooks: executes every lesson in fast mode and prints the failing cell's error.
// npm run test:interrupt: interrupts the kernel in the middle of training and checks that the model is left usable.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findPython } from "./python.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [command, ...rest] = process.argv.slice(2);

function jupyterEnv(extra = {}) {
  const paths = [join(root, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean);
  return { ...process.env, JUPYTER_PATH: paths.join(delimiter), ...extra };
}

function run(cmd, args, options) {
  const child = spawn(cmd, args, { stdio: "inherit", ...options });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (!existsSync(join(root, "node_modules", "tslab"))) {
  console.error("tslab is not installed: run `npm install` in the project folder first.");
  process.exit(1);
}

if (command === "start") {
  const lab = findPython(["jupyterlab"]);
  const classic = lab ? undefined : findPython(["notebook"]);
  if (!lab && !classic) {
    console.error(
      "Neither JupyterLab nor the classic Jupyter Notebook is installed.\n" +
        "Install one, then run `npm start` again:\n" +
        "  pip install jupyterlab                    (any system with pip)\n" +
        "  sudo apt install jupyter-notebook         (Debian / Ubuntu: the classic Notebook)\n" +
        "Set PYTHON=/path/to/python if Jupyter lives in a Python that is not first on PATH.",
    );
    process.exit(1);
  }
  const [python, app] = lab ? [lab, "jupyterlab"] : [classic, "notebook"];
  console.log(`Opening the lessons in ${lab ? "JupyterLab" : "the classic Jupyter Notebook"} (kernel: TypeScript (tslab)).`);
  run(python, ["-m", app, ...rest], { cwd: join(root, "notebooks"), env: jupyterEnv() });
} else if (command === "test" || command === "interrupt") {
  const python = findPython(["nbclient", "nbformat", "jupyter_client"]);
  if (!python) {
    console.error(
      "Executing the notebooks needs Python with nbclient and nbformat.\n" +
        "  sudo apt install python3-nbclient jupyter-nbconvert     (Debian / Ubuntu)\n" +
        "  pip install nbclient nbformat                          (elsewhere)",
    );
    process.exit(1);
  }
  const shared = resolve(root, "..", "shared", "data", "tinyshakespeare", "input.txt");
  const extra = { GPT_FAST: process.env.GPT_FAST ?? "1" };
  if (!process.env.TINYSHAKESPEARE_PATH && existsSync(shared)) extra.TINYSHAKESPEARE_PATH = shared;
  const script = command === "test" ? "run_notebooks.py" : "interrupt_kernel.py";
  run(python, [join(root, "test", script), ...rest], { cwd: root, env: jupyterEnv(extra) });
} else {
  console.error("usage: node scripts/jupyter.mjs start|test|interrupt [args]");
  process.exit(2);
}
