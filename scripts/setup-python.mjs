#!/usr/bin/env node
// npm install's postinstall: the Python tools of `npm start` and the tests (JupyterLab and the rest of requirements.txt)
// in the project's own environment, .venv/, made once:
//  - .venv/ exists: nothing to make. If this script made it and requirements.txt changed since, pip brings it up to date.
//  - a JupyterLab is already importable (PYTHON, or python3 on PATH: a learner's own, Binder's image): nothing to make,
//    npm start uses that one. GPT_SETUP_VENV=1 makes .venv/ all the same; GPT_SETUP_VENV=0 never makes it.
//  - otherwise `python3 -m venv .venv` and `pip install -r requirements.txt`, announced in one line. Without Python 3.9+
//    or its venv module it says what to install and npm install goes on (it fails under CI=true).
// The JupyterLab of .venv/ gets a settings override that answers its first-run question about Jupyter news ("no").
// `node scripts/setup-python.mjs --lab-settings PYTHON` writes only that override, for the JupyterLab of PYTHON.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeLabSettings } from "./lab-settings.mjs";
import { findPython, pythonIn } from "./python.mjs";
import { root } from "./lesson-env.mjs";

const venv = join(root, ".venv");
const requirements = join(root, "requirements.txt");
const stamp = join(venv, ".requirements.sha256"); // what this script installed: requirements.txt's hash
const MIN_PYTHON = [3, 9];

const hash = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Runs a command with its output kept; returns it on failure as { failed: "the last lines" }. */
function quietly(cmd, args) {
  const run = spawnSync(cmd, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.status === 0) return {};
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}${run.error ? String(run.error) : ""}`.trim();
  return { failed: output.split("\n").slice(-15).join("\n") };
}

/** A Python 3.9+ with venv and ensurepip (pip for the new environment), or what is missing, in words. */
function basePython() {
  const candidates = [process.env.PYTHON, "python3", "python"].filter(Boolean);
  const check = `import sys; ok = sys.version_info >= (${MIN_PYTHON}); print(sys.version.split()[0]); sys.exit(0 if ok else 3)`;
  let tooOld;
  for (const python of candidates) {
    const version = spawnSync(python, ["-c", check], { encoding: "utf8" });
    if (version.status === 3) tooOld ??= `${python} is Python ${version.stdout.trim()}`;
    if (version.status !== 0) continue;
    const venvOk = spawnSync(python, ["-c", "import venv, ensurepip"], { stdio: "ignore" }).status === 0;
    if (!venvOk) return { missing: `${python} has no venv module with pip. Install it: sudo apt install python3-venv (Debian / Ubuntu)` };
    return { python };
  }
  if (tooOld) return { missing: `${tooOld}; JupyterLab needs Python ${MIN_PYTHON.join(".")} or newer (https://python.org)` };
  return { missing: "no python3 found. Install Python 3.9 or newer with venv: sudo apt install python3 python3-venv (Debian / Ubuntu), or https://python.org" };
}

function fail(what) {
  console.error(
    `npm start needs JupyterLab, and could not install it into .venv/: ${what}\n` +
      "Then run `npm install` again. (A JupyterLab you already have works too: npm start finds it on PATH, or set PYTHON.)",
  );
  return process.env.CI === "true" ? 1 : 0;
}

function pipInstall(python) {
  return quietly(python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", requirements]);
}

function setup() {
  const mode = process.env.GPT_SETUP_VENV;
  if (mode === "0") return 0;
  const python = pythonIn(venv);
  if (existsSync(python)) {
    // ours, and requirements.txt changed since: bring it up to date (pip skips what is already there)
    if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() !== hash(requirements)) {
      console.log("requirements.txt changed: updating .venv/ …");
      const { failed } = pipInstall(python);
      if (failed) return fail(`pip install -r requirements.txt failed:\n${failed}`);
      writeFileSync(stamp, hash(requirements) + "\n");
    }
    // a .venv/ made by hand gets the settings override too; one linked from elsewhere is not this project's to change
    const own = !lstatSync(venv).isSymbolicLink();
    if (own && spawnSync(python, ["-c", "import jupyterlab"], { stdio: "ignore" }).status === 0) writeLabSettings(python);
    return 0;
  }
  if (mode !== "1" && findPython(["jupyterlab"], { venv: false })) return 0;
  const base = basePython();
  if (base.missing) return fail(base.missing);
  const t0 = Date.now();
  console.log(`Installing JupyterLab and the lessons' Python tools (requirements.txt) into .venv/, once: a minute or two…`);
  const made = quietly(base.python, ["-m", "venv", venv]);
  const installed = made.failed ? made : pipInstall(python);
  if (installed.failed) {
    rmSync(venv, { recursive: true, force: true }); // the next npm install starts over
    return fail(`${made.failed ? `${base.python} -m venv .venv` : "pip install -r requirements.txt"} failed:\n${installed.failed}`);
  }
  writeFileSync(stamp, hash(requirements) + "\n");
  writeLabSettings(python);
  console.log(`.venv/ is ready (${((Date.now() - t0) / 1000).toFixed(0)} s): npm start opens the lessons in its JupyterLab.`);
  return 0;
}

const [flag, labPython] = process.argv.slice(2);
if (flag === "--lab-settings") {
  if (!labPython) {
    console.error("usage: node scripts/setup-python.mjs --lab-settings PYTHON");
    process.exit(2);
  }
  console.log(`JupyterLab settings: ${writeLabSettings(labPython)}`);
} else if (flag) {
  console.error(`usage: node scripts/setup-python.mjs [--lab-settings PYTHON]   (unknown: ${flag})`);
  process.exit(2);
} else {
  process.exit(setup());
}
