#!/usr/bin/env node
// npm run test:start: `npm install && npm start` as a newcomer meets them, in a fresh clone with no .venv/.
//  1. copies a fresh clone's files (git's tracked and untracked-not-ignored files) into a temporary folder;
//  2. runs `npm install` there: it must succeed, warn of nothing of ours, list no install script left unreviewed
//     (allowScripts; also `npm approve-scripts --allow-scripts-pending`, or `npm install-scripts ls`, where npm has
//     either), and make .venv/ from requirements.txt, saying so in one line, with the JupyterLab settings override that
//     answers the news question;
//  3. runs `npm start` there (--no-browser, a free port, Jupyter's own files in the temporary folder), waits for the
//     line with the URL and its token, fetches the first lesson's page with it (HTTP 200, the server lists the lesson),
//     checks that the server is .venv/'s JupyterLab (the version requirements.txt pins) and that it will not ask about
//     news; then sends Ctrl-C (SIGINT) and checks that the server stops within 20 s and its port is closed. As root it
//     also checks the one-line --allow-root warning;
//  4. Binder's case: with a JupyterLab on PATH (as in Binder's image) the install's set-up makes no .venv/, silently.
// npm and pip use their caches, so packages already downloaded are not downloaded again.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { LAB_OVERRIDES } from "./lab-settings.mjs";
import { copyCheckout, lessonNames, root } from "./lesson-env.mjs";
import { pythonIn } from "./python.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const t0 = Date.now();
const took = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

const tmp = mkdtempSync(join(tmpdir(), "gpt-start-test-"));
const clone = join(tmp, "repo");
// The newcomer's environment: nothing of this project's (no GPT_VENV, no quiet npm from `npm run --silent`), and
// .venv/ made whatever Jupyter this machine has elsewhere (GPT_SETUP_VENV=1).
// npm takes what its cache holds without asking the registry again (npm_config_prefer_offline); pip uses its cache.
const env = { ...process.env, GPT_SETUP_VENV: "1", npm_config_prefer_offline: "true" };
for (const key of Object.keys(env)) if (/^(npm_lifecycle_|npm_package_|npm_config_loglevel$|npm_command$|INIT_CWD$|GPT_VENV$|PYTHON$)/i.test(key)) delete env[key];
Object.assign(env, {
  JUPYTER_CONFIG_DIR: join(tmp, "config"),
  JUPYTER_DATA_DIR: join(tmp, "data"),
  JUPYTER_RUNTIME_DIR: join(tmp, "runtime"),
});

/** Runs a command in the clone; returns its output, or throws with it. */
function sh(cmd, args, options = {}) {
  const run = spawnSync(cmd, args, { cwd: clone, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  if (run.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${run.status ?? run.error}):\n${output}`);
  return output;
}

/** npm's list of install scripts allowScripts leaves unreviewed, by either of its names; undefined on an npm without. */
function pendingScripts() {
  for (const args of [["approve-scripts", "--allow-scripts-pending"], ["install-scripts", "ls"]]) {
    const run = spawnSync("npm", args, { cwd: clone, env, encoding: "utf8" });
    const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim();
    if (run.status === 0) return { command: `npm ${args.join(" ")}`, output };
    if (!/Unknown command/i.test(output)) throw new Error(`npm ${args.join(" ")} failed (exit ${run.status}):\n${output}`);
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** 2. `npm install`: its output, checked. */
function install() {
  const output = sh("npm", ["install", "--no-audit", "--no-fund"]);
  const unreviewed = output.split("\n").filter((l) => /install-scripts|allowScripts/.test(l));
  if (unreviewed.length) throw new Error(`npm install lists install scripts not reviewed in package.json's allowScripts:\n${unreviewed.join("\n")}`);
  // no warning of ours (a dependency's own deprecation notice is not)
  const warnings = output.split("\n").filter((l) => /^npm warn/i.test(l) && !/^npm warn deprecated/i.test(l));
  if (warnings.length) throw new Error(`npm install warns:\n${warnings.join("\n")}`);
  const pending = pendingScripts();
  if (pending && !/^No packages with unreviewed install scripts\.?$/m.test(pending.output)) throw new Error(`${pending.command} lists:\n${pending.output}`);
  const progress = output.split("\n").filter((l) => /into \.venv\//.test(l));
  if (progress.length !== 1) throw new Error(`npm install did not say once that it makes .venv/:\n${output}`);
  const lab = pythonIn(join(clone, ".venv"));
  const version = spawnSync(lab, ["-c", "import jupyterlab; print(jupyterlab.__version__)"], { encoding: "utf8" });
  if (version.status !== 0) throw new Error(`npm install made no .venv/ with JupyterLab:\n${output}`);
  const overrides = JSON.parse(readFileSync(join(clone, ".venv", "share", "jupyter", "lab", "settings", "overrides.json"), "utf8"));
  for (const [plugin, values] of Object.entries(LAB_OVERRIDES)) {
    for (const [key, value] of Object.entries(values)) {
      if (overrides[plugin]?.[key] !== value) throw new Error(`.venv/'s overrides.json does not set ${plugin} ${key} to ${value}`);
    }
  }
  return { version: version.stdout.trim(), line: progress[0].trim() };
}

/** 3. `npm start`: served, the first lesson, .venv/'s JupyterLab, no news question; stopped by Ctrl-C. */
async function start(labVersion) {
  const port = await freePort();
  const args = ["start", "--", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0"];
  // its own process group, so that Ctrl-C reaches npm and what it started, as in a terminal
  const child = spawn("npm", args, { cwd: clone, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  let exit;
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve((exit = { code, signal }))));
  try {
    const t1 = Date.now();
    let url;
    while (!url && !exit && Date.now() - t1 < 120_000) {
      url = output.match(/^The lessons: (\S+)$/m)?.[1];
      await sleep(250);
    }
    if (!url) throw new Error(`no "The lessons: URL" line within 120 s${exit ? ` (it exited: ${JSON.stringify(exit)})` : ""}`);
    const token = new URL(url).searchParams.get("token");
    if (!token) throw new Error(`the URL has no token: ${url}`);
    if (process.getuid?.() === 0 && !/^warning: running as root.*--allow-root\.$/m.test(output)) throw new Error("as root, no one-line --allow-root warning");
    const get = (path) => fetch(`http://127.0.0.1:${port}${path}`, { headers: { Authorization: `token ${token}` }, signal: AbortSignal.timeout(30_000) });
    const page = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    if (page.status !== 200) throw new Error(`GET ${url}: HTTP ${page.status}`);
    const [first] = lessonNames(readdirSync(join(clone, "notebooks")));
    const tree = await get(`/lab/tree/${first}`);
    if (tree.status !== 200) throw new Error(`GET /lab/tree/${first}: HTTP ${tree.status}`);
    const served = (await tree.text()).match(/"appVersion":\s*"([^"]+)"/)?.[1];
    if (served !== labVersion) throw new Error(`the server is JupyterLab ${served}, not .venv/'s ${labVersion}`);
    const lesson = await get(`/api/contents/${first}?content=0`);
    if (lesson.status !== 200) throw new Error(`the server does not serve notebooks/${first} (HTTP ${lesson.status})`);
    const checked = [];
    for (const [plugin, values] of Object.entries(LAB_OVERRIDES)) {
      // what JupyterLab's front end gets: the user's settings, over the schema whose defaults overrides.json replaced
      const settings = await (await get(`/lab/api/settings/${plugin}`)).json();
      for (const [key, value] of Object.entries(values)) {
        const effective = settings.settings?.[key] ?? settings.schema?.properties?.[key]?.default;
        if (effective !== value) throw new Error(`JupyterLab's ${plugin} ${key} is ${JSON.stringify(effective)}, not ${value}: it would ask`);
        checked.push(`${key} ${value}`);
      }
    }
    process.kill(-child.pid, "SIGINT");
    const stopped = await Promise.race([exited, sleep(20_000).then(() => undefined)]);
    if (!stopped) throw new Error("still running 20 s after Ctrl-C");
    const closed = await fetch(`http://127.0.0.1:${port}/api/status`).then(() => false, () => true);
    if (!closed) throw new Error(`port ${port} still answers after Ctrl-C`);
    return `JupyterLab ${served} served ${first} at ${url.replace(token, "<token>")} (${checked.join(", ")}); Ctrl-C stopped it`;
  } catch (error) {
    error.message += `\n---- npm start's output ----\n${output}`;
    throw error;
  } finally {
    if (!exit) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/** 4. Binder's image has JupyterLab on PATH: the set-up leaves it alone, without a word. */
function binderCase() {
  const made = join(clone, ".venv");
  const aside = join(clone, ".venv-aside");
  renameSync(made, aside);
  try {
    const path = [join(aside, process.platform === "win32" ? "Scripts" : "bin"), env.PATH].join(delimiter);
    const output = sh(process.execPath, ["scripts/setup-python.mjs"], { env: { ...env, GPT_SETUP_VENV: "", PATH: path } });
    if (existsSync(made)) throw new Error("with a JupyterLab on PATH, npm install's set-up made a second one in .venv/");
    if (output.trim()) throw new Error(`with a JupyterLab on PATH, npm install's set-up printed:\n${output}`);
  } finally {
    rmSync(made, { recursive: true, force: true });
    renameSync(aside, made);
  }
}

// Without Python and its venv module there is no JupyterLab to install: said, and skipped (a failure under CI=true).
if (spawnSync(env.PYTHON ?? "python3", ["-c", "import venv, ensurepip"], { stdio: "ignore" }).status !== 0) {
  const message = "no python3 with venv here (sudo apt install python3-venv): npm install cannot make .venv/";
  rmSync(tmp, { recursive: true, force: true });
  if (process.env.CI === "true") {
    console.error(`FAIL test:start: ${message}`);
    process.exit(1);
  }
  console.log(`start test skipped: ${message}`);
  process.exit(0);
}

let status = 0;
try {
  console.log(`test:start: a fresh clone (${copyCheckout(clone)} files) in ${clone}`);
  if (existsSync(join(clone, ".venv"))) throw new Error("the fresh clone has a .venv/ already: .gitignore must leave it out");
  const installed = install();
  console.log(`ok   npm install (${took()}): "${installed.line}"; JupyterLab ${installed.version} in .venv/; no install script unreviewed`);
  const served = await start(installed.version);
  console.log(`ok   npm start (${took()}): ${served}`);
  binderCase();
  console.log(`ok   with a JupyterLab on PATH (Binder), npm install makes no .venv/ and says nothing (${took()})`);
} catch (error) {
  console.error(`FAIL test:start: ${error.message}`);
  status = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
