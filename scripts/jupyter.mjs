#!/usr/bin/env node
// npm start: opens the lessons in JupyterLab (or the classic Notebook) with this project's tslab kernel.
// `test [--solutions]`: executes every lesson in fast mode and prints the failing cell's error (npm run test:notebooks:
// with the exercises' solutions).
// npm run test:interrupt: interrupts the kernel in the middle of training and checks that the model is left usable.
import { spawn } from "node:child_process";
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeLabSettings } from "./lab-settings.mjs";
import { lessonNames } from "./lesson-env.mjs";
import { findPython, venvPython } from "./python.mjs";

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

/**
 * Jupyter, in a process group of its own: Ctrl-C here stops it at once (SIGTERM: no "Shut down this server (y/[n])?"
 * question on stdin). Its log goes through, and the line with the URL and token is repeated once it is known.
 */
function startServer(cmd, args, options) {
  const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "pipe"], detached: true, ...options });
  let shown = false;
  child.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    const url = !shown && String(chunk).match(/https?:\/\/(?:127\.0\.0\.1|localhost)\S*[?&]token=\w+/);
    if (url) {
      shown = true;
      console.log(`\nThe lessons: ${url[0]}\n`);
    }
  });
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the Jupyter server (PID ${child.pid})…`);
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 10_000).unref();
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
  child.on("exit", (code, signal) => process.exit(stopping ? 0 : code ?? (signal ? 1 : 0)));
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
        "Install the project's pinned tools, then run `npm start` again:\n" +
        "  npm install          (makes .venv/ from requirements.txt; it needs Python 3.9+ with venv: sudo apt install python3-venv)\n" +
        "  sudo apt install jupyter-notebook         (Debian / Ubuntu without pip: the classic Notebook)\n" +
        "Set PYTHON=/path/to/python if Jupyter lives in a Python that is not first on PATH.",
    );
    process.exit(1);
  }
  const [python, app] = lab ? [lab, "jupyterlab"] : [classic, "notebook"];
  // the project's own JupyterLab asks no first-run question (a .venv/ made by hand gets the override here; one linked
  // from elsewhere is not this project's to change)
  if (lab && lab === venvPython() && !lstatSync(join(root, process.env.GPT_VENV ?? ".venv")).isSymbolicLink()) writeLabSettings(lab);
  const args = [...rest];
  // Jupyter refuses to run as root ("Running as root is not recommended. Use --allow-root to bypass."): containers
  // often are root, so say it once and start anyway.
  if (process.getuid?.() === 0 && !args.includes("--allow-root")) {
    console.warn("warning: running as root (as in many containers): starting Jupyter with --allow-root.");
    args.push("--allow-root");
  }
  // Open the first lesson (the classic Notebook has no such path: it opens the list of lessons).
  const [first] = lessonNames(readdirSync(join(root, "notebooks")));
  if (lab && first && !args.some((a) => !a.startsWith("-"))) args.push(first);
  console.log(`Opening the lessons in ${lab ? "JupyterLab" : "the classic Jupyter Notebook"} (kernel: TypeScript (tslab)). Ctrl-C stops the server.`);
  startServer(python, ["-m", app, ...args], { cwd: join(root, "notebooks"), env: jupyterEnv() });
} else if (command === "test" || command === "interrupt" || command === "shutdown") {
  const python = findPython(["nbclient", "nbformat", "jupyter_client"]);
  if (!python) {
    console.error(
      "Executing the notebooks needs Python with nbclient and nbformat.\n" +
        "  sudo apt install python3-nbclient jupyter-nbconvert     (Debian / Ubuntu)\n" +
        "  pip install nbclient nbformat                          (elsewhere)",
    );
    process.exit(1);
  }
  const extra = { GPT_FAST: process.env.GPT_FAST ?? "1" };
  const script = { test: "run_notebooks.py", interrupt: "interrupt_kernel.py", shutdown: "kernel_shutdown.py" }[command];
  run(python, [join(root, "test", script), ...rest], { cwd: root, env: jupyterEnv(extra) });
} else {
  console.error("usage: node scripts/jupyter.mjs start|test|interrupt|shutdown [args]");
  process.exit(2);
}
