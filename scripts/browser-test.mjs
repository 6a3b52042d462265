#!/usr/bin/env node
// npm run test:browser [-- 04 ...]: the lessons in JupyterLab, in a real browser, as a learner runs them.
//
// For each JupyterLab to test (the newest 4.x from .venv/, and Binder's 4.4 from .venv-binder/ when it exists), it
// starts `jupyter lab` on 127.0.0.1 (a free port, a token, Jupyter's own files in a temporary folder) and opens every
// lesson in headless Chromium (playwright-core driving /usr/bin/chromium, no downloaded browser), in fast mode:
//  1. opens lab/tree/<lesson>, picks the project's kernel if JupyterLab asks, and runs Run > Run All Cells;
//  2. checks that no cell failed (an error reply, error or stderr output), that the live progress line of training was
//     updated in place (update_display_data of one display) while training ran, and that every figure is drawn: each
//     cell with a plotly figure is scrolled into view (JupyterLab detaches cells out of view) and must hold a drawn
//     plotly chart (an SVG) or, in lesson 4 and the like, the heatmaps too;
//  3. saves the notebook, scrolls to the bottom and back, reloads the page, and closes and reopens the saved notebook:
//     after each, every figure must draw again;
//  4. exports the saved lesson with nbconvert and checks the HTML page (its text/html figures) from file://.
// Once per JupyterLab it also trains in a scratch notebook, presses the toolbar's interrupt button and checks that
// training stopped at a step and the kernel still runs code. Screenshots go to out/screenshots/<lesson>.<version>*.png.
// Pages may load nothing from the network: the figures must work offline.
//
// `-- figures` runs only the scratch notebooks (figures, interrupt). BROWSER_TEST_ALL=1 runs every lesson in every JupyterLab; otherwise the second one (Binder's) runs lessons 1 and 6.
// BROWSER_TEST_VENVS=".venv,.venv-binder" names the environments. The lessons run on copies in out/browser/notebooks/,
// so a save never writes outputs into the committed lessons. Every server and kernel started is stopped by its PID.
// scripts/binder-sim.mjs reuses this file's functions (runLesson) against a Binder-like folder.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, closeSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { pathToFileURL, fileURLToPath } from "node:url";
import { findPython } from "./python.mjs";
import { lessonEnv, lessonNames, root } from "./lesson-env.mjs";
import {
  chartProblems, chartsInPage, describeCharts, findChromium, htmlProblemsInPage, keepOffline, launchChromium, loadPlaywright,
} from "./browser.mjs";

// What each lesson must show beyond "every figure drawn". A lesson not listed here gets only the general checks.
const EXPECTED = {
  "01-data": { minCharts: 1 }, // the character frequencies (a bar chart)
  "02-bigram": { loss: true, progress: true },
  "03-averaging-trick": { heatmap: true }, // the averaging weights
  "04-self-attention": { loss: true, heatmap: true, progress: true }, // one head vs the bigram; the attention maps
  "05-transformer-block": { loss: true, progress: true }, // the ladder's validation losses
  "06-scaling-up": { loss: true, progress: true },
  "figures-check": { loss: true, heatmap: true, progress: true, minCharts: 3 }, // the scratch notebook below
};

const LESSON_TIMEOUT_S = Number(process.env.BROWSER_TEST_TIMEOUT ?? 1200); // per lesson, fast mode takes ~1 minute
const outDir = join(root, "out");
const workDir = join(outDir, "browser");
const shotsDir = join(outDir, "screenshots");
const log = (line) => console.log(line);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(0)}s`;

// ---------------------------------------------------------------------------------------------------------------
// Everything started here, and how to stop it: run by `finally`, and by the signal handlers.

export const started = { server: undefined, browser: undefined, tmp: undefined, base: undefined, token: undefined };
let interrupted = false;

export async function stopJupyter() {
  if (started.server) await stopServer(started.server);
  if (started.tmp) {
    killStrays(started.tmp);
    rmSync(started.tmp, { recursive: true, force: true });
    started.tmp = undefined;
  }
}

export async function cleanup() {
  if (started.browser) await started.browser.close().catch(() => {});
  started.browser = undefined;
  await stopJupyter();
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
    process.on(signal, () => {
      interrupted = true;
      console.error(`\n${signal}: stopping the Jupyter server and the browser…`);
      cleanup().finally(() => process.exit(code));
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The Jupyter server.

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

async function api(path, options = {}) {
  const response = await fetch(`${started.base}${path}`, {
    ...options,
    headers: { Authorization: `token ${started.token}`, ...options.headers },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`${options.method ?? "GET"} ${path}: HTTP ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

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
  if (!jupyterPath) delete env.JUPYTER_PATH; // Binder: only the kernel that postBuild registered
  // No autosave: a lesson that runs longer than its interval (2 minutes) would be saving, a 13 MB notebook, just as the
  // test saves it, and the test's save command could then wait on it. The test saves when it means to.
  const docmanager = join(started.tmp, "config", "lab", "user-settings", "@jupyterlab", "docmanager-extension");
  mkdirSync(docmanager, { recursive: true });
  writeFileSync(join(docmanager, "plugin.jupyterlab-settings"), JSON.stringify({ autosave: false }));
  // --LabApp.expose_app_in_browser: window.jupyterapp, through which the test reads cells and outputs (as Galata does);
  // the clicks and commands are a learner's.
  const args = [
    "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0",
    `--IdentityProvider.token=${started.token}`, `--ServerApp.root_dir=${notebookDir}`, "--LabApp.expose_app_in_browser=True",
  ];
  if (process.getuid?.() === 0) args.push("--allow-root"); // CI containers run as root
  const logFd = openSync(logFile, "w");
  // Its own process group: a Ctrl-C in the terminal reaches this script, which stops the server itself (the
  // Notebook would otherwise ask on stdin whether to shut down).
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

// ---------------------------------------------------------------------------------------------------------------
// In the page: JupyterLab's app (window.jupyterapp). These functions are serialised into the browser.

/** The notebook panel open on `path`, ready, its kernel started and idle; clicks "Select" if a kernel dialog asks. */
export function pagePanelReady(path) {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const accept = document.querySelector(".jp-Dialog .jp-Dialog-button.jp-mod-accept");
  if (accept) {
    window.gptDialog = (window.gptDialog || []).concat(document.querySelector(".jp-Dialog-header")?.textContent ?? "a dialog");
    accept.click();
    return false;
  }
  const panel = [...app.shell.widgets("main")].find((w) => w.context && w.context.path === path && w.content && w.content.model);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== "idle" || kernel.connectionStatus !== "connected") return false;
  window.gptPanel = panel;
  return { kernel: panel.sessionContext.kernelDisplayName, windowing: panel.content.notebookConfig?.windowingMode ?? "?" };
}

/** Records the kernel's messages (execute requests and replies, display updates), then runs Run > Run All Cells. */
async function pageRunAll() {
  const panel = window.gptPanel;
  const kernel = panel.sessionContext.session.kernel;
  const t = (window.gptTest = { requests: [], replies: {}, updates: {}, lost: null, samples: [] });
  panel.sessionContext.statusChanged.connect((_, status) => {
    if (status === "dead" || status === "restarting" || status === "autorestarting") t.lost = t.lost || status;
  });
  kernel.anyMessage.connect((_, { msg, direction }) => {
    const type = msg.header.msg_type;
    if (direction === "send" && type === "execute_request") t.requests.push(msg.header.msg_id);
    else if (type === "execute_reply") t.replies[msg.parent_header.msg_id] = msg.content.status;
    else if (type === "update_display_data" || type === "display_data") {
      const id = msg.content.transient && msg.content.transient.display_id;
      const text = msg.content.data && msg.content.data["text/plain"];
      if (id && typeof text === "string" && / · |step \d+\/\d+/.test(text)) {
        const u = (t.updates[id] ||= { updates: 0, first: text, last: text, outputsSeen: [] });
        if (type === "update_display_data") u.updates += 1;
        u.last = text;
      }
    }
  });
  // not awaited: the command resolves when every cell has run
  window.jupyterapp.commands.execute("notebook:run-all-cells").catch((error) => (t.runAllError = String(error)));
  return true;
}

/** Where the run stands: code cells to run, requests sent, replies received, a failure, a lost kernel. */
function pageProgress() {
  const t = window.gptTest;
  const panel = window.gptPanel;
  const cells = [...panel.content.model.cells];
  const code = cells.filter((c) => c.type === "code" && c.sharedModel.getSource().trim() !== "").length;
  const replies = t.requests.filter((id) => t.replies[id]).length;
  const failed = t.requests.findIndex((id) => t.replies[id] === "error");
  // In place: a live line's output is one output of its cell however often it is updated; count the outputs of the
  // cell that is running while training runs (sampled here, every half second).
  for (const [id, u] of Object.entries(t.updates)) {
    if (u.updates > 0 && u.outputsSeen.length < 20) {
      const holder = cells.find((c) => c.type === "code" && c.outputs.toJSON().some((o) => o.transient?.display_id === id || (o.data && o.data["text/plain"] === u.last)));
      if (holder) u.outputsSeen.push(holder.outputs.toJSON().filter((o) => o.data && typeof o.data["text/plain"] === "string" && / · /.test(o.data["text/plain"])).length);
    }
  }
  return { code, requests: t.requests.length, replies, failed, lost: t.lost, busy: panel.sessionContext.session.kernel.status !== "idle" };
}

/** Every code cell: its index, source, execution count and outputs (text kept, rich data named only). */
function pageCells() {
  return [...window.gptPanel.content.model.cells].flatMap((cell, index) => {
    if (cell.type !== "code") return [];
    const outputs = cell.outputs.toJSON().map((o) => ({
      type: o.output_type,
      name: o.name,
      text: Array.isArray(o.text) ? o.text.join("").slice(-4000) : typeof o.text === "string" ? o.text.slice(-4000) : undefined,
      ename: o.ename,
      evalue: o.evalue,
      traceback: o.traceback,
      mimes: o.data ? Object.keys(o.data) : undefined,
    }));
    return [{ index, source: cell.sharedModel.getSource(), count: cell.executionCount ?? null, outputs }];
  });
}

/**
 * Every figure, cell by cell: each cell whose outputs hold a plotly figure is scrolled into view (JupyterLab attaches
 * only the cells near the view), and its drawn charts are read. Returns one entry per figure output.
 */
async function pageFigures(mime) {
  const notebook = window.gptPanel.content;
  const figures = [];
  const cells = [...notebook.model.cells];
  for (let index = 0; index < cells.length; index++) {
    const cell = cells[index];
    if (cell.type !== "code") continue;
    // a figure: a plotly MIME bundle, or the HTML form alone (the live loss chart, redrawn as HTML)
    const expected = cell.outputs.toJSON().filter((o) => o.data && (o.data[mime] || /class="gpt-plot"/.test(String(o.data["text/html"] ?? "")))).length;
    if (!expected) continue;
    if (notebook.scrollToItem) await notebook.scrollToItem(index, "center").catch(() => {});
    else notebook.widgets[index].node.scrollIntoView();
    let charts = [];
    // the renderer's code (plotly.js, some MB) loads when the first figure is shown: allow a loaded machine 25 s
    for (const until = Date.now() + 25_000; Date.now() < until; ) {
      const node = notebook.widgets[index].node;
      charts = [...node.querySelectorAll(".js-plotly-plot")].map((el) => {
        const layout = el.layout || (el._fullLayout ?? {});
        const axisTitle = (axis) => (axis && axis.title && (axis.title.text ?? axis.title)) || "";
        const title = (layout.title && (layout.title.text ?? layout.title)) || "";
        const drawn = el.querySelector("svg.main-svg") !== null;
        return {
          cell: index,
          title: String(title),
          drawn,
          renderer: el.closest(".jp-RenderedPlotly") ? "plotly renderer" : el.closest(".jp-RenderedHTMLCommon") ? "HTML fallback" : "?",
          loss: drawn && el.querySelectorAll(".scatterlayer .trace path.js-line").length > 0 && /loss/i.test(String(axisTitle(layout.yaxis))),
          heatmap: drawn && el.querySelectorAll(".heatmaplayer g.hm image").length > 0,
        };
      });
      // A saved notebook reopened: plotly's renderer first shows the PNG snapshot it stored in the output at save time.
      for (const img of node.querySelectorAll(".jp-RenderedPlotly img.plot-img")) {
        charts.push({ cell: index, title: "", drawn: img.complete && img.naturalWidth > 0, renderer: "saved PNG snapshot", loss: false, heatmap: false, snapshot: true });
      }
      if (charts.length >= expected && charts.every((c) => c.drawn)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const node = notebook.widgets[index].node;
    const fallback = node.querySelector(".gpt-plot:not(.js-plotly-plot)");
    const shown = [...node.querySelectorAll(".jp-OutputArea-output[data-mime-type]")].map((e) => e.getAttribute("data-mime-type"));
    const message = fallback ? `${fallback.textContent.trim().slice(0, 200) || "(the HTML form, its script not run)"}; outputs shown as ${shown.join(", ")}` : `outputs shown as ${shown.join(", ") || "nothing"}`;
    for (let i = 0; i < expected; i++) figures.push(charts[i] ?? { cell: index, title: "", drawn: false, renderer: "none", message, loss: false, heatmap: false });
  }
  return figures;
}

/** Scrolls the notebook to its last cell and back to the first (JupyterLab detaches and re-attaches cells). */
async function pageScrollBottomAndBack() {
  const notebook = window.gptPanel.content;
  const last = notebook.widgets.length - 1;
  if (notebook.scrollToItem) {
    await notebook.scrollToItem(last, "end").catch(() => {});
    await new Promise((r) => setTimeout(r, 1000));
    await notebook.scrollToItem(0, "start").catch(() => {});
  } else {
    notebook.widgets[last].node.scrollIntoView();
    await new Promise((r) => setTimeout(r, 1000));
    notebook.widgets[0].node.scrollIntoView();
  }
  await new Promise((r) => setTimeout(r, 1000));
  return true;
}

/** Scrolls the first figure that matches (loss chart first) into view, for the screenshot. */
async function pageShowFirstFigure(mime) {
  const notebook = window.gptPanel.content;
  const cells = [...notebook.model.cells];
  const index = cells.findIndex((c) => c.type === "code" && c.outputs.toJSON().some((o) => o.data && o.data[mime]));
  if (index >= 0 && notebook.scrollToItem) await notebook.scrollToItem(index, "start").catch(() => {});
  await new Promise((r) => setTimeout(r, 1500));
  return index;
}

async function pageSave() {
  // The command's promise can stay pending behind a save already under way; what counts is that the file is saved.
  const saved = window.jupyterapp.commands.execute("docmanager:save");
  await Promise.race([saved, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  for (let i = 0; i < 120 && window.gptPanel.context.model.dirty; i++) await new Promise((resolve) => setTimeout(resolve, 500));
  return !window.gptPanel.context.model.dirty;
}

async function pageCloseAll() {
  await window.jupyterapp.commands.execute("application:close-all");
  return true;
}

async function pageOpen(path) {
  await window.jupyterapp.commands.execute("docmanager:open", { path, factory: "Notebook" });
  return true;
}

/** Runs code in the notebook's kernel (not in a cell) and returns what it printed and the reply's status. */
async function pageExecute(code) {
  const kernel = window.gptPanel.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, store_history: false });
  let out = "";
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream") out += msg.content.text;
  };
  const reply = await future.done;
  return { status: reply.content.status, out };
}

// ---------------------------------------------------------------------------------------------------------------
// One lesson.

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

function outputText(cell) {
  return cell.outputs
    .map((o) => {
      if (o.type === "stream") return `[${o.name}] ${o.text ?? ""}`;
      if (o.type === "error") return `[error] ${o.ename}: ${o.evalue}\n${(o.traceback ?? []).join("\n")}`;
      return `[${o.type}: ${(o.mimes ?? []).join(", ")}]`;
    })
    .join("\n");
}

/** The first cell that failed: an error output, or tslab's error on stderr. */
function firstFailure(cells) {
  for (const cell of cells) {
    if (cell.outputs.some((o) => o.type === "error" || (o.type === "stream" && o.name === "stderr"))) {
      return `cell ${cell.index} (In [${cell.count ?? " "}]) failed\n---- cell source ----\n${cell.source}\n---- cell output ----\n${outputText(cell)}`;
    }
  }
  return undefined;
}

function figureProblems(figures, expected, when) {
  // a snapshot cannot be told a loss chart or a heatmap: that was checked on the live figures
  const what = figures.some((f) => f.snapshot) ? { minCharts: expected.minCharts } : expected;
  return chartProblems(figures, what).map((p) => `${when}: ${p}`);
}

const describe = (figures) => `${describeCharts(figures)} [${[...new Set(figures.map((f) => f.renderer))].join(", ")}]`;

async function waitPanel(page, path, timeout = 180_000) {
  const handle = await page.waitForFunction(pagePanelReady, path, { timeout, polling: 250 });
  return handle.jsonValue();
}

/**
 * Runs one lesson in the JupyterLab at started.base, in `context`; `urlPath` opens it (lab/tree/<path>). Returns
 * { problems, figures, ran, notes }; screenshots are named <name>.<tag>*.png.
 */
export async function runLesson(context, { path, urlPath = `lab/tree/${path}`, tag, expected = {}, pageErrors = [], afterReload = true }) {
  const name = basename(path, ".ipynb");
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 1000 });
  page.on("pageerror", (error) => pageErrors.push(`${name}: ${error.message}`));
  const problems = [];
  const notes = [];
  const t0 = Date.now();
  let figures = [];
  let ran = "";
  try {
    await page.goto(`${started.base}/${urlPath}?token=${started.token}`, { waitUntil: "load", timeout: 60_000 });
    const ready = await waitPanel(page, path);
    notes.push(`kernel ${ready.kernel}, windowing ${ready.windowing}`);
    await page.evaluate(pageRunAll);
    const deadline = Date.now() + LESSON_TIMEOUT_S * 1000;
    let progress;
    let failedAt;
    let lastReport = Date.now();
    for (;;) {
      progress = await page.evaluate(pageProgress);
      if (progress.lost) {
        problems.push(`the kernel was lost (${progress.lost}) after ${progress.replies}/${progress.code} code cells`);
        break;
      }
      if (progress.requests >= progress.code && progress.replies === progress.requests && !progress.busy) break;
      if (progress.failed >= 0) {
        failedAt ??= Date.now();
        if ((progress.replies === progress.requests && Date.now() - failedAt > 3000) || Date.now() - failedAt > 30_000) break;
      }
      if (Date.now() > deadline) {
        problems.push(`timed out after ${LESSON_TIMEOUT_S}s with ${progress.replies}/${progress.code} code cells done (BROWSER_TEST_TIMEOUT sets the limit)`);
        break;
      }
      if (Date.now() - lastReport > 60_000) {
        log(`     … ${name}: ${progress.replies}/${progress.code} code cells done (${seconds(t0)})`);
        lastReport = Date.now();
      }
      await sleep(500);
    }
    ran = seconds(t0);
    const failure = firstFailure(await page.evaluate(pageCells));
    if (failure) problems.push(failure);
    else if (progress.failed >= 0) problems.push(`an execute_reply said error (request ${progress.failed + 1}), with no error output`);
    if (problems.length) {
      await page.screenshot({ path: join(shotsDir, `${name}.${tag}.failed.png`) }).catch(() => {});
      return { problems, figures, ran, notes };
    }
    // The live line: one output, updated in place (update_display_data) while training ran.
    const updates = Object.values(await page.evaluate(() => window.gptTest.updates));
    const live = updates.filter((u) => u.updates >= 2);
    if (expected.progress) {
      if (!live.length) problems.push("no live progress line was updated in place (no display updated twice while training ran)");
      const grew = live.find((u) => u.outputsSeen.some((n) => n > 1 + updates.length));
      if (grew) problems.push(`a progress line's cell gained outputs instead of updating one: ${grew.outputsSeen.join(",")}`);
      else if (live.length) notes.push(`${live.length} live line(s), ${live.map((u) => u.updates).join("+")} updates in place, last "${live[live.length - 1].last.slice(0, 90)}"`);
    }
    figures = await page.evaluate(pageFigures, PLOTLY_MIME);
    problems.push(...figureProblems(figures, expected, "after Run All"));
    await page.evaluate(pageShowFirstFigure, PLOTLY_MIME);
    await page.screenshot({ path: join(shotsDir, `${name}.${tag}.png`) });
    if (!(await page.evaluate(pageSave))) problems.push("the notebook could not be saved");
    await page.evaluate(pageScrollBottomAndBack);
    problems.push(...figureProblems(await page.evaluate(pageFigures, PLOTLY_MIME), expected, "after scrolling to the bottom and back"));
    if (afterReload) {
      await page.reload({ waitUntil: "load", timeout: 60_000 });
      await waitPanel(page, path);
      const reloaded = await page.evaluate(pageFigures, PLOTLY_MIME);
      problems.push(...figureProblems(reloaded, expected, "after reloading the page"));
      if (reloaded.length !== figures.length) problems.push(`after reloading: ${reloaded.length} figures, not ${figures.length}`);
      await page.evaluate(pageCloseAll);
      await closeKernel(path);
      await page.evaluate(pageOpen, path);
      await waitPanel(page, path);
      const reopened = await page.evaluate(pageFigures, PLOTLY_MIME);
      problems.push(...figureProblems(reopened, expected, "after reopening the saved notebook"));
      if (reopened.length !== figures.length) problems.push(`after reopening: ${reopened.length} figures, not ${figures.length}`);
      await page.evaluate(pageShowFirstFigure, PLOTLY_MIME);
      await page.screenshot({ path: join(shotsDir, `${name}.${tag}.reopened.png`) });
      notes.push(`reload: ${describe(reloaded)}; reopen: ${describe(reopened)}`);
    }
    return { problems, figures, ran, notes };
  } finally {
    await closeKernel(path);
    await page.close().catch(() => {});
  }
}

/** Ends the notebook's sessions, which shuts its kernel down, so the next lesson starts with the machine to itself. */
export async function closeKernel(path) {
  if (!started.server || interrupted) return;
  try {
    for (const session of await api("/api/sessions")) {
      if (session.path === path || session.notebook?.path === path) await api(`/api/sessions/${session.id}`, { method: "DELETE" });
    }
  } catch (error) {
    console.error(`could not close ${path}'s kernel through the server: ${error.message} (it is stopped with the server)`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The figures, apart from the lessons: a scratch notebook with a live loss chart at the top, a heatmap far below
// (after enough prose that JupyterLab's windowing detaches the first while the second is in view), and a bar chart at
// the end. It runs in each JupyterLab like a lesson, with the same checks, whatever state the lessons are in.

const PROSE = Array.from({ length: 6 }, (_, i) => `Paragraph ${i + 1}. ` + "A line of prose that takes room on the page, so that cells far apart are not in view together. ".repeat(12));
const FIGURE_CELLS = () => [
  ["code", INTERRUPT_CELLS_SETUP()],
  ["code", `const run = await train(model, optimizer, split, {
  batchSize: 16, blockSize: 8, maxIters: 120, evalInterval: 30, evalIters: 4, rng: rng, progress: liveProgress({ label: "short run" }),
});`],
  ...Array.from({ length: 25 }, (_, i) => ["markdown", PROSE.join("\n\n") + ` (${i + 1})`]),
  ["code", `import { heatmapFigure, showPlot } from "@build-gpt/lib";
showPlot(heatmapFigure([{ z: [[1, 0, 0], [0.5, 0.5, 0], [0.33, 0.33, 0.34]], xLabels: ["a", "b", "c"], yLabels: ["a", "b", "c"], title: "weights" }], { title: "a heatmap" }));`],
  ...Array.from({ length: 25 }, (_, i) => ["markdown", PROSE.join("\n\n") + ` (${i + 26})`]),
  ["code", `showPlot({ data: [{ type: "bar", x: ["a", "b", "c"], y: [3, 1, 2] }], layout: { title: { text: "a bar chart" } } });`],
];

export function writeFiguresNotebook(notebookDir) {
  const nb = {
    cells: FIGURE_CELLS().map(([type, source]) => (type === "code" ? { cell_type: "code", execution_count: null, metadata: {}, outputs: [], source } : { cell_type: "markdown", metadata: {}, source })),
    metadata: { kernelspec: { display_name: "TypeScript (tslab)", language: "typescript", name: "tslab" } },
    nbformat: 4, nbformat_minor: 5,
  };
  writeFileSync(join(notebookDir, "figures-check.ipynb"), JSON.stringify(nb));
  return "figures-check.ipynb";
}

// ---------------------------------------------------------------------------------------------------------------
// The interrupt button, once per JupyterLab: training in a scratch notebook, stopped from the toolbar.

function INTERRUPT_CELLS_SETUP() {
  return INTERRUPT_CELLS[0];
}
const INTERRUPT_CELLS = [
  `import * as tf from "@tensorflow/tfjs";
import { initBackend, loadTinyShakespeare, CharTokenizer, trainValSplit, Rng, LADDER, AdamW, train, generate, liveProgress } from "@build-gpt/lib";
await initBackend();
const text = await loadTinyShakespeare();
const tokenizer = CharTokenizer.fromText(text);
const split = trainValSplit(tokenizer.encode(text), 0.9);
const rng = new Rng(1337);
const model = LADDER.find((s) => s.id === "residual")!.build(tokenizer.vocabSize, rng);
const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });`,
  `await train(model, optimizer, split, {
  batchSize: 32, blockSize: 8, maxIters: 1000000, evalInterval: 100, evalIters: 4, rng: rng, progress: liveProgress({ label: "long run" }),
});`,
];
const INTERRUPT_CHECK = `{
  const t1 = optimizer.t;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const sample = tokenizer.decode(await generate(model, [0], 40, { rng: new Rng(7) }));
  console.log(JSON.stringify({ t: optimizer.t, moved: optimizer.t - t1, sample: sample.length }));
}`;

export async function checkInterrupt(context, notebookDir, tag) {
  const path = "interrupt-check.ipynb";
  const nb = {
    cells: INTERRUPT_CELLS.map((source) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { display_name: "TypeScript (tslab)", language: "typescript", name: "tslab" } },
    nbformat: 4, nbformat_minor: 5,
  };
  writeFileSync(join(notebookDir, path), JSON.stringify(nb));
  const page = await context.newPage();
  const problems = [];
  try {
    await page.goto(`${started.base}/lab/tree/${path}?token=${started.token}`, { waitUntil: "load", timeout: 60_000 });
    await waitPanel(page, path);
    await page.evaluate(pageRunAll);
    await page.waitForFunction(() => Object.values(window.gptTest.updates).some((u) => u.updates >= 3 && /long run: step/.test(u.last)), null, { timeout: Number(process.env.BROWSER_INTERRUPT_WAIT ?? 240_000), polling: 250 });
    const button = page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').first();
    const how = (await button.count()) ? "the toolbar's interrupt button" : "Kernel > Interrupt Kernel";
    if (await button.count()) await button.click();
    else await page.evaluate(() => window.jupyterapp.commands.execute("notebook:interrupt-kernel"));
    await page.waitForFunction(() => window.gptPanel.sessionContext.session.kernel.status === "idle", null, { timeout: 60_000, polling: 250 });
    // train() stops at the next step boundary and writes its last line then
    await page.waitForFunction(() => Object.values(window.gptTest.updates).some((u) => /long run: interrupted/.test(u.last)), null, { timeout: 60_000, polling: 250 }).catch(() => {});
    const last = await page.evaluate(() => Object.values(window.gptTest.updates).map((u) => u.last).find((t) => /long run/.test(t)));
    if (!/interrupted at step \d+/.test(last ?? "")) problems.push(`the live line does not say where training stopped: "${last}"`);
    // tslab aborts a request that arrives while the interrupted cell is still being wound up (status "abort", as a
    // kernel's stop-on-error does): a learner runs the cell again, and so does the test, after a second.
    let check = await page.evaluate(pageExecute, INTERRUPT_CHECK);
    for (let retry = 0; retry < 3 && check.status === "abort"; retry++) {
      await sleep(1000);
      check = await page.evaluate(pageExecute, INTERRUPT_CHECK);
    }
    const result = JSON.parse(check.out.trim().split("\n").pop() || "{}");
    if (check.status !== "ok") problems.push(`the kernel did not run code after the interrupt: ${check.status} ${check.out}`);
    else if (result.moved !== 0) problems.push(`training went on after the interrupt: ${result.moved} more steps in 1 s`);
    else if (!(result.sample > 0)) problems.push("the model did not generate after the interrupt");
    await page.screenshot({ path: join(shotsDir, `interrupt.${tag}.png`) });
    return { problems, summary: `${how}: "${(last ?? "").slice(0, 100)}"; then steps moved ${result.moved}, generated ${result.sample} characters` };
  } catch (error) {
    problems.push(error.message);
    await page.screenshot({ path: join(shotsDir, `interrupt.${tag}.failed.png`) }).catch(() => {});
    const seen = await page.evaluate(() => JSON.stringify({ t: window.gptTest, dialogs: window.gptDialog })).catch(() => "");
    problems.push(`seen: ${seen.slice(0, 1500)}`);
    return { problems, summary: "" };
  } finally {
    await closeKernel(path);
    await page.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------

function exportHtml(python, notebook, htmlDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-m", "nbconvert", "--to", "html", "--output-dir", htmlDir, notebook], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`nbconvert failed (exit ${code}):\n${output}`))));
  });
}

async function checkHtml(context, lesson, htmlFile, pageErrors) {
  const name = basename(lesson, ".ipynb");
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`html page: ${error.message}`));
  try {
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: "load", timeout: 120_000 });
    await page.waitForFunction(() => [...document.querySelectorAll("div.gpt-plot")].every((el) => el.querySelector("svg.main-svg")), null, { timeout: 15_000 }).catch(() => {});
    const problems = await page.evaluate(htmlProblemsInPage);
    const charts = await page.evaluate(chartsInPage);
    problems.push(...chartProblems(charts, EXPECTED[name]));
    await page.screenshot({ path: join(shotsDir, `${name}.html.png`), fullPage: true });
    return { problems, charts };
  } finally {
    await page.close().catch(() => {});
  }
}

function labVersion(python) {
  const probe = spawnSync(python, ["-c", "import jupyterlab; print(jupyterlab.__version__)"], { encoding: "utf8" });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** The JupyterLabs to test: each environment of BROWSER_TEST_VENVS that exists, else whatever findPython finds. */
function jupyterLabs() {
  const labs = [];
  for (const venv of (process.env.BROWSER_TEST_VENVS ?? ".venv,.venv-binder").split(",").filter(Boolean)) {
    const python = join(root, venv, "bin", "python");
    const version = existsSync(python) && labVersion(python);
    if (version) labs.push({ python, version, venv });
  }
  if (!labs.length) {
    const python = findPython(["jupyterlab", "nbconvert"]);
    const version = python && labVersion(python);
    if (version) labs.push({ python, version, venv: python });
  }
  return labs;
}

async function main() {
  const labs = jupyterLabs();
  const playwright = await loadPlaywright();
  const chromium = findChromium();
  const missing = [
    !chromium && "Chromium (sudo apt install chromium)",
    !labs.length && "JupyterLab (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)",
    !playwright && "playwright-core (npm install)",
  ].filter(Boolean);
  if (missing.length) {
    if (process.env.CI === "true") {
      console.error(`browser test: missing ${missing.join(", ")}`);
      return 1;
    }
    log(`browser test skipped: missing ${missing.join(", ")}`);
    return 0;
  }
  const filters = process.argv.slice(2);
  const lessons = lessonNames(readdirSync(join(root, "notebooks")), filters);
  if (!lessons.length && !filters.includes("figures")) {
    console.error(`no lesson in notebooks/ matches ${filters.join(", ")}`);
    return 1;
  }
  const all = process.env.BROWSER_TEST_ALL === "1";
  const t0 = Date.now();
  rmSync(workDir, { recursive: true, force: true });
  const htmlDir = join(workDir, "html");
  if (!filters.length) rmSync(shotsDir, { recursive: true, force: true }); // a full run replaces them all
  for (const dir of [htmlDir, shotsDir]) mkdirSync(dir, { recursive: true });
  started.browser = await launchChromium(playwright, chromium);
  const failures = [];
  let runs = 0;
  for (const [n, lab] of labs.entries()) {
    if (interrupted) break;
    // Binder's JupyterLab (the second) runs lessons 1 and 6 only, unless BROWSER_TEST_ALL=1: CI time.
    const mine = n === 0 || all ? lessons : lessons.filter((l) => /^0[16]-/.test(l));
    const tag = `lab${lab.version}`;
    const notebookDir = join(workDir, tag, "notebooks");
    mkdirSync(notebookDir, { recursive: true });
    // beside the project's node_modules, two levels down as notebooks/ is one: `@build-gpt/lib` resolves from there
    for (const lesson of mine) copyFileSync(join(root, "notebooks", lesson), join(notebookDir, lesson));
    await startServer(lab.python, notebookDir, join(workDir, `${tag}.log`));
    log(`browser test: JupyterLab ${lab.version} (${lab.venv}) on ${started.base}, Chromium ${started.browser.version()}, fast mode`);
    const context = await started.browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const refused = await keepOffline(context, [started.base]);
    try {
      const interrupt = await checkInterrupt(context, notebookDir, tag);
      runs += 1;
      if (interrupt.problems.length) {
        log(`FAIL interrupt (JupyterLab ${lab.version}):\n  ${interrupt.problems.join("\n  ")}`);
        failures.push(`interrupt in ${lab.version}`);
      } else log(`ok   interrupt (JupyterLab ${lab.version}): ${interrupt.summary}`);
      const figuresNotebook = writeFiguresNotebook(notebookDir);
      for (const lesson of [figuresNotebook, ...mine]) {
        if (interrupted) break;
        const name = basename(lesson, ".ipynb");
        const pageErrors = [];
        runs += 1;
        try {
          const live = await runLesson(context, { path: lesson, tag, expected: EXPECTED[name], pageErrors });
          let html = { problems: [], charts: [] };
          if (!live.problems.length && n === 0 && lesson !== figuresNotebook) {
            const t1 = Date.now();
            await exportHtml(lab.python, join(notebookDir, lesson), htmlDir);
            html = await checkHtml(context, lesson, join(htmlDir, `${name}.html`), pageErrors);
            html.took = seconds(t1);
          }
          const problems = [...live.problems, ...html.problems.map((p) => `nbconvert HTML: ${p}`)];
          if (!problems.length) {
            const htmlPart = html.took ? `; nbconvert HTML ${html.took}, ${describeCharts(html.charts)}` : "";
            log(`ok   ${lesson} (JupyterLab ${lab.version}): ${live.ran}, ${describe(live.figures)}; ${live.notes.join("; ")}${htmlPart}`);
          } else {
            const report = [`FAIL ${lesson} (JupyterLab ${lab.version}):`, ...problems.map((p) => `  ${p}`)];
            if (pageErrors.length) report.push("  JavaScript errors on the page:", ...pageErrors.slice(0, 10).map((e) => `    ${e}`));
            if (refused.length) report.push(`  requests refused (pages must work offline): ${refused.slice(0, 5).join(", ")}`);
            log(report.join("\n"));
            failures.push(`${lesson} in ${lab.version}`);
          }
        } catch (error) {
          if (interrupted) break;
          log(`FAIL ${lesson} (JupyterLab ${lab.version}): ${error.stack ?? error}`);
          failures.push(`${lesson} in ${lab.version}`);
        }
      }
    } finally {
      await context.close().catch(() => {});
      await stopJupyter();
    }
  }
  await cleanup();
  log(`browser: ${runs - failures.length} passed, ${failures.length} failed (${seconds(t0)}) in JupyterLab ${labs.map((l) => l.version).join(" and ")}; screenshots in out/screenshots/`);
  return failures.length ? 1 : 0;
}

if (isMain) {
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    console.error(`browser test: ${error.stack ?? error}`);
  } finally {
    await cleanup();
  }
  process.exit(process.exitCode || code);
}
