// The browser test's Jupyter server: `jupyter lab` on 127.0.0.1 (a free port, a token, Jupyter's own files in a
// temporary folder), its REST API, and stopping it and every kernel it started, by PID.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { lessonEnv } from "../lesson-env.mjs";

/** Everything started, and how to reach it: the server, the browser (set by the caller), the temporary folder. */
export const started = { server: undefined, browser: undefined, tmp: undefined, base: undefined, token: undefined, stopping: false };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** The server's REST API, with the token; JSON back (undefined for 204). */
export async function api(path, options = {}) {
  const response = await fetch(`${started.base}${path}`, {
    ...options,
    headers: { Authorization: `token ${started.token}`, ...options.headers },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`${options.method ?? "GET"} ${path}: HTTP ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

/** A JupyterLab setting in the temporary user settings: what a learner would have chosen in Settings. */
function userSetting(plugin, values) {
  const [pkg, name] = plugin.split(":");
  const dir = join(started.tmp, "config", "lab", "user-settings", ...pkg.split("/"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.jupyterlab-settings`), JSON.stringify(values));
}

/**
 * Starts `python -m jupyterlab` on `notebookDir` and waits until it answers. `jupyterPath: false` leaves out the
 * project's kernelspec folder (Binder: only the kernel postBuild registered); `env` adds to the lessons' environment.
 */
export async function startServer(python, notebookDir, logFile, { jupyterPath = true, env: extraEnv = {} } = {}) {
  const port = await freePort();
  started.token = randomBytes(24).toString("hex");
  started.base = `http://127.0.0.1:${port}`;
  // Jupyter's own files go to a temporary folder: no user config or extension interferes, no signatures are recorded
  // in the user's database, and any kernel still running afterwards is recognised by its connection file's path.
  started.tmp = mkdtempSync(join(tmpdir(), "gpt-browser-test-"));
  const env = lessonEnv({
    extra: {
      JUPYTER_CONFIG_DIR: join(started.tmp, "config"),
      JUPYTER_DATA_DIR: join(started.tmp, "data"),
      JUPYTER_RUNTIME_DIR: join(started.tmp, "runtime"),
      ...extraEnv,
    },
  });
  if (!jupyterPath) delete env.JUPYTER_PATH;
  // No autosave: the test saves when it means to (an autosave under way could hold up its save command). No toast
  // asking about Jupyter news over the screenshots.
  userSetting("@jupyterlab/docmanager-extension:plugin", { autosave: false });
  userSetting("@jupyterlab/apputils-extension:notification", { fetchNews: "false" });
  // --LabApp.expose_app_in_browser: window.jupyterapp, through which the test reads cells and outputs (as Galata does);
  // the clicks and commands are a learner's.
  const args = [
    "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0",
    `--IdentityProvider.token=${started.token}`, `--ServerApp.root_dir=${notebookDir}`, "--LabApp.expose_app_in_browser=True",
  ];
  if (process.getuid?.() === 0) args.push("--allow-root"); // CI containers run as root
  const logFd = openSync(logFile, "w");
  // Its own process group: a Ctrl-C in the terminal reaches the test, which stops the server itself.
  const child = spawn(python, args, { cwd: notebookDir, env, stdio: ["ignore", logFd, logFd], detached: true });
  closeSync(logFd);
  started.server = child;
  let exited = false;
  child.on("exit", () => (exited = true));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the Jupyter server exited at start (code ${child.exitCode}); its log:\n${readFileSync(logFile, "utf8")}`);
    try {
      await api("/api/status");
      return child;
    } catch {
      await sleep(500);
    }
  }
  throw new Error(`the Jupyter server did not answer on ${started.base} within 90s; its log:\n${readFileSync(logFile, "utf8")}`);
}

async function stopServer(child) {
  if (child.exitCode === null && child.signalCode === null) {
    // Shut the kernels down through the server first (it would on SIGTERM too; this way it is certain and quick).
    try {
      for (const kernel of await api("/api/kernels")) await api(`/api/kernels/${kernel.id}`, { method: "DELETE" }).catch(() => {});
    } catch {
      // the server no longer answers: SIGTERM below
    }
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(child.pid, "SIGTERM");
    const result = await Promise.race([exited.then(() => "exited"), sleep(15_000).then(() => "timeout")]);
    if (result === "timeout") {
      console.error(`the Jupyter server (PID ${child.pid}) ignored SIGTERM for 15s: killing it`);
      process.kill(child.pid, "SIGKILL");
      await exited;
    }
  }
  started.server = undefined;
}

/** Kernels started by our server carry a connection file in our temporary folder: any still alive is killed by PID. */
function killStrays(tmp) {
  const strays = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes(tmp) && Number(pid) !== process.pid) strays.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  for (const pid of strays) {
    console.error(`a kernel (PID ${pid}) outlived the Jupyter server: killing it`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (strays.length) process.exitCode = 1;
}

/** Ends the notebook's sessions, which shuts its kernel down, so the next lesson starts with the machine to itself. */
export async function closeKernel(path) {
  if (!started.server || started.stopping) return;
  try {
    for (const session of await api("/api/sessions")) {
      if (session.path === path || session.notebook?.path === path) await api(`/api/sessions/${session.id}`, { method: "DELETE" });
    }
  } catch (error) {
    console.error(`could not close ${path}'s kernel through the server: ${error.message} (it is stopped with the server)`);
  }
}

export async function stopJupyter() {
  if (started.server) await stopServer(started.server);
  if (started.tmp) {
    killStrays(started.tmp);
    rmSync(started.tmp, { recursive: true, force: true });
    started.tmp = undefined;
  }
}

/** Closes the browser and stops the server: on the way out, and on Ctrl-C or SIGTERM. */
export async function cleanup() {
  if (started.browser) await started.browser.close().catch(() => {});
  started.browser = undefined;
  await stopJupyter();
}

/** Ctrl-C or SIGTERM: stop the server and the browser, then exit with the signal's code. */
export function stopOnSignals() {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
    process.on(signal, () => {
      started.stopping = true;
      console.error(`\n${signal}: stopping the Jupyter server and the browser…`);
      cleanup().finally(() => process.exit(code));
    });
  }
}
