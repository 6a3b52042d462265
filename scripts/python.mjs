// Finds a Python that has the given modules. The project's own environment comes first: .venv/ (made by `npm install`,
// scripts/setup-python.mjs, from requirements.txt) holds the pinned tools. Then PYTHON (to choose one explicitly), then
// the Pythons on PATH: Jupyter may be installed for a Python other than the first one on PATH (pyenv shims, for one).
// GPT_VENV names another environment (the browser test runs Binder's JupyterLab 4.4 from .venv-binder/ that way).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A virtual environment's python, by the folder's path (Windows keeps it in Scripts/). */
export function pythonIn(venv) {
  return join(venv, process.platform === "win32" ? "Scripts/python.exe" : "bin/python");
}

/** The project-local environment's python, if there is one (GPT_VENV: another folder, relative to the project). */
export function venvPython() {
  const python = pythonIn(resolve(root, process.env.GPT_VENV ?? ".venv"));
  return existsSync(python) ? python : undefined;
}

/** The first Python that imports every one of `modules`; `venv: false` looks only outside the project's .venv/. */
export function findPython(modules, { venv = true } = {}) {
  const candidates = [venv && venvPython(), process.env.PYTHON, "python3", "/usr/bin/python3", "python"].filter(Boolean);
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return undefined;
}
