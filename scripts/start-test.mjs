#!/usr/bin/env node
// npm run test:start: `npm start` as a newcomer meets it. Runs `node scripts/jupyter.mjs start` (what `npm start` runs
// after building), with --no-browser on a free port and Jupyter's files in a temporary folder; waits for the line with
// the URL and its token; fetches the first lesson's page with that token (HTTP 200, and the server lists the lesson);
// then sends Ctrl-C (SIGINT) and checks that the server stops within 20 s and its port is closed. As root it also
// checks the one-line --allow-root warning. Skipped (exit 0) when no Jupyter is installed, unless CI=true.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPython } from "./python.mjs";
import { root } from "./lesson-env.mjs";

const kindOf = (html) => (/jupyterlab/i.test(html) ? "JupyterLab" : "the Notebook");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fail = (message) => {
  console.error(`FAIL npm start: ${message}`);
  process.exitCode = 1;
};

if (!findPython(["jupyterlab"]) && !findPython(["notebook"])) {
  const message = "no JupyterLab or Notebook found (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)";
  if (process.env.CI === "true") fail(message);
  else console.log(`start test skipped: ${message}`);
  process.exit(process.exitCode ?? 0);
}

const port = await new Promise((resolve, reject) => {
  const probe = createServer().on("error", reject);
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const tmp = mkdtempSync(join(tmpdir(), "gpt-start-test-"));
const env = {
  ...process.env,
  JUPYTER_CONFIG_DIR: join(tmp, "config"),
  JUPYTER_DATA_DIR: join(tmp, "data"),
  JUPYTER_RUNTIME_DIR: join(tmp, "runtime"),
};
const args = ["scripts/jupyter.mjs", "start", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0"];
const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
child.stdout.on("data", (d) => (output += d));
child.stderr.on("data", (d) => (output += d));
const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
let exit;
exited.then((e) => (exit = e));

try {
  const t0 = Date.now();
  let url;
  while (!url && !exit && Date.now() - t0 < 90_000) {
    url = output.match(/^The lessons: (\S+)$/m)?.[1];
    await sleep(250);
  }
  if (!url) throw new Error(`no "The lessons: URL" line within 90 s${exit ? ` (it exited: ${JSON.stringify(exit)})` : ""}`);
  const token = new URL(url).searchParams.get("token");
  if (!token) throw new Error(`the URL has no token: ${url}`);
  if (process.getuid?.() === 0 && !/^warning: running as root.*--allow-root\.$/m.test(output)) throw new Error("as root, no one-line --allow-root warning");
  const page = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (page.status !== 200) throw new Error(`GET ${url}: HTTP ${page.status}`);
  const base = `http://127.0.0.1:${port}`;
  const tree = await fetch(`${base}/lab/tree/01-data.ipynb?token=${token}`, { signal: AbortSignal.timeout(30_000) });
  if (kindOf(await page.text()) === "JupyterLab" && tree.status !== 200) throw new Error(`GET /lab/tree/01-data.ipynb: HTTP ${tree.status}`);
  const lesson = await fetch(`${base}/api/contents/01-data.ipynb?content=0`, { headers: { Authorization: `token ${token}` } });
  if (lesson.status !== 200) throw new Error(`the server does not serve notebooks/01-data.ipynb (HTTP ${lesson.status})`);
  const kind = tree.status === 200 ? "JupyterLab" : "the Notebook";
  child.kill("SIGINT");
  const stopped = await Promise.race([exited, sleep(20_000).then(() => undefined)]);
  if (!stopped) throw new Error("still running 20 s after Ctrl-C");
  const closed = await fetch(`${base}/api/status`).then(() => false, () => true);
  if (!closed) throw new Error(`port ${port} still answers after Ctrl-C`);
  console.log(`ok   npm start: ${kind} at ${url.replace(token, "<token>")} served the first lesson; Ctrl-C stopped it in ${((Date.now() - t0) / 1000).toFixed(0)} s overall`);
} catch (error) {
  fail(`${error.message}\n---- its output ----\n${output}`);
} finally {
  if (!exit) child.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
}
