#!/usr/bin/env node
// npm run test:browser [-- 04 ...]: the lessons in a real browser.
//
// Starts Debian's classic Jupyter Notebook on 127.0.0.1 (a free port, a token), opens every lesson in headless
// Chromium (playwright-core driving /usr/bin/chromium), runs all its cells as a reader would (Cell > Run All) in fast
// mode, and checks that no cell failed, that every plotly figure was drawn, and that the loss chart (and, in the
// attention lesson, the heatmaps) are on the page. It then saves the executed lesson, exports it with
// `nbconvert --to html`, opens that page from file:// and checks the same things. Full-page screenshots of both go to
// out/screenshots/. Pages may load nothing from the network: the figures must work offline.
//
// The lessons run on copies in out/browser/notebooks/ (beside the project's node_modules, so `@build-gpt/lib`
// resolves as it does in notebooks/), so a browser save never writes outputs into the committed lessons.
// Every server and kernel it starts is stopped by its PID, on failure and on Ctrl-C too.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { findPython } from "./python.mjs";
import { lessonEnv, lessonNames, root } from "./lesson-env.mjs";
import {
  chartProblems, chartsInPage, describeCharts, findChromium, htmlProblemsInPage, keepOffline, launchChromium, loadPlaywright,
} from "./browser.mjs";

// What each lesson must show beyond "every figure drawn". A lesson not listed here gets only the general checks.
const EXPECTED = {
  "01-data": { minCharts: 1 }, // the character frequencies (a bar chart)
  "02-bigram": { loss: true },
  "03-averaging-trick": { heatmap: true }, // the averaging weights
  "04-self-attention": { loss: true, heatmap: true }, // one head vs the bigram; the attention maps
  "05-transformer-block": { loss: true }, // the ladder's validation losses
  "06-scaling-up": { loss: true },
};

const LESSON_TIMEOUT_S = Number(process.env.BROWSER_TEST_TIMEOUT ?? 1200); // per lesson, fast mode takes ~1 minute
const outDir = join(root, "out");
const workDir = join(outDir, "browser");
const shotsDir = join(outDir, "screenshots");
const log = (line) => console.log(line);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(0)}s`;

// ---------------------------------------------------------------------------------------------------------------
// What is needed, and what to do without it.

function missingPieces() {
  const missing = [];
  if (!findChromium()) missing.push({ what: "Chromium", apt: "chromium" });
  if (!findPython(["notebook", "nbconvert"])) missing.push({ what: "the classic Jupyter Notebook and nbconvert", apt: "jupyter-notebook jupyter-nbconvert" });
  return missing;
}

// ---------------------------------------------------------------------------------------------------------------
// Everything started here, and how to stop it: run by `finally`, and by the signal handlers.

const started = { server: undefined, browser: undefined, tmp: undefined, base: undefined, token: undefined };
let cleaning;
let interrupted = false;

function cleanup() {
  cleaning ??= (async () => {
    if (started.browser) await started.browser.close().catch(() => {});
    if (started.server) await stopServer(started.server);
    if (started.tmp) {
      killStrays(started.tmp);
      rmSync(started.tmp, { recursive: true, force: true });
    }
  })();
  return cleaning;
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
  process.on(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the notebook server and the browser…`);
    cleanup().finally(() => process.exit(code));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The notebook server.

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

async function startServer(python, notebookDir, logFile) {
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
    },
  });
  const args = [
    "-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0",
    `--NotebookApp.token=${started.token}`, `--notebook-dir=${notebookDir}`, "--NotebookApp.open_browser=False",
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
    if (exited) throw new Error(`the notebook server exited at start (code ${child.exitCode}); its log:\n${readFileSync(logFile, "utf8")}`);
    try {
      await api("/api/status");
      return child;
    } catch {
      await sleep(500);
    }
  }
  throw new Error(`the notebook server did not answer on ${started.base} within 90s; its log:\n${readFileSync(logFile, "utf8")}`);
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
      console.error(`the notebook server (PID ${child.pid}) ignored SIGTERM for 15s: killing it`);
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
    console.error(`a kernel (PID ${pid}) outlived the notebook server: killing it`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (strays.length) process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------------------------
// In the page (the classic Notebook's `Jupyter` object). These functions are serialised into the browser.

function pageNotebookReady() {
  const nb = window.Jupyter && window.Jupyter.notebook;
  return Boolean(nb && nb._fully_loaded && nb.kernel && nb.kernel.info_reply && nb.kernel.info_reply.implementation);
}

/** Records each code cell's execute_reply and the end of its output, then runs all cells (Cell > Run All). */
function pageRunAll() {
  const nb = window.Jupyter.notebook;
  nb.set_autosave_interval(0); // the test saves once, at the end
  window.gptTest = { kernelLost: null };
  nb.events.on("kernel_dead.Kernel kernel_restarting.Kernel kernel_autorestarting.Kernel", (event) => {
    window.gptTest.kernelLost = window.gptTest.kernelLost || event.type;
  });
  nb.events.on("finished_execute.CodeCell", (event, data) => {
    data.cell.gptFinished = true;
  });
  for (const cell of nb.get_cells()) {
    if (cell.cell_type !== "code") continue;
    const handle = cell._handle_execute_reply;
    cell._handle_execute_reply = function (msg) {
      this.gptReply = msg.content;
      return handle.call(this, msg);
    };
  }
  nb.execute_all_cells();
}

/** Where the run stands: cells still waiting, the first that failed (tslab replies status "error"), a lost kernel. */
function pageProgress() {
  const cells = window.Jupyter.notebook.get_cells();
  const code = cells.map((cell, index) => ({ cell, index })).filter(({ cell }) => cell.cell_type === "code" && cell.get_text().trim() !== "");
  const waiting = code.filter(({ cell }) => !cell.gptReply || (cell.gptReply.status === "ok" && !cell.gptFinished));
  const failed = code.find(({ cell }) => cell.gptReply && cell.gptReply.status === "error");
  return {
    total: code.length,
    waiting: waiting.length,
    current: waiting.length ? waiting[0].index : null,
    failed: failed ? failed.index : null,
    failedDone: failed ? Boolean(failed.cell.gptFinished) : false,
    kernelLost: window.gptTest.kernelLost,
  };
}

/** Every code cell: its source, reply status, prompt number and outputs (text kept, rich data named only). */
function pageCells() {
  return window.Jupyter.notebook.get_cells().flatMap((cell, index) => {
    if (cell.cell_type !== "code") return [];
    const outputs = cell.output_area.outputs.map((o) => ({
      type: o.output_type,
      name: o.name,
      text: typeof o.text === "string" ? o.text.slice(-4000) : Array.isArray(o.text) ? o.text.join("").slice(-4000) : undefined,
      ename: o.ename,
      evalue: o.evalue,
      traceback: o.traceback,
      mimes: o.data ? Object.keys(o.data) : undefined,
    }));
    return [{ index, source: cell.get_text(), status: cell.gptReply ? cell.gptReply.status : null, count: cell.input_prompt_number ?? null, outputs }];
  });
}

/** The classic Notebook scrolls inside #site under a fixed header; let the page flow so a full-page screenshot shows it all. */
const FLOWING_PAGE_CSS = `
  html, body { height: auto !important; overflow: visible !important; }
  #site { height: auto !important; overflow: visible !important; position: static !important; }
  #header { position: static !important; }
`;

// ---------------------------------------------------------------------------------------------------------------
// One lesson.

function outputText(cell) {
  return cell.outputs
    .map((o) => {
      if (o.type === "stream") return `[${o.name}] ${o.text ?? ""}`;
      if (o.type === "error") return `[error] ${o.ename}: ${o.evalue}\n${(o.traceback ?? []).join("\n")}`;
      return `[${o.type}: ${(o.mimes ?? []).join(", ")}]`;
    })
    .join("\n");
}

/** The first cell that failed: tslab's execute_reply said "error" (the rule of test/run_notebooks.py), or it wrote an error. */
function firstFailure(cells) {
  for (const cell of cells) {
    const errorOutput = cell.outputs.some((o) => o.type === "error" || (o.type === "stream" && o.name === "stderr"));
    if (cell.status === "error" || errorOutput) {
      const why = cell.status === "error" ? "its execute_reply says error" : "it wrote to stderr";
      return `cell ${cell.index} (In [${cell.count ?? " "}]) failed: ${why}\n---- cell source ----\n${cell.source}\n---- cell output ----\n${outputText(cell)}`;
    }
  }
  return undefined;
}

async function runLessonLive(context, lesson, pageErrors) {
  const name = basename(lesson, ".ipynb");
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`live page: ${error.message}`));
  const problems = [];
  const t0 = Date.now();
  try {
    await page.goto(`${started.base}/notebooks/${encodeURIComponent(lesson)}?token=${started.token}`, { waitUntil: "load", timeout: 60_000 });
    await page.waitForFunction(pageNotebookReady, null, { timeout: 120_000, polling: 250 });
    await page.evaluate(pageRunAll);
    const deadline = Date.now() + LESSON_TIMEOUT_S * 1000;
    let progress;
    let failedAt;
    let lastReport = Date.now();
    for (;;) {
      progress = await page.evaluate(pageProgress);
      if (progress.kernelLost) {
        const cell = (await page.evaluate(pageCells)).find((c) => c.index === progress.current);
        problems.push(`the kernel died (${progress.kernelLost}) while cell ${progress.current} was running` +
          (cell ? `\n---- cell source ----\n${cell.source}\n---- cell output ----\n${outputText(cell)}` : ""));
        break;
      }
      if (progress.waiting === 0) break;
      if (progress.failed !== null) {
        // tslab aborts the queued cells after a failure; give their replies and the failed cell's output a moment
        failedAt ??= Date.now();
        if (progress.failedDone && Date.now() - failedAt > 3000) break;
        if (Date.now() - failedAt > 30_000) break;
      }
      if (Date.now() > deadline) {
        problems.push(`timed out after ${LESSON_TIMEOUT_S}s with cell ${progress.current} still running (BROWSER_TEST_TIMEOUT sets the limit)`);
        break;
      }
      if (Date.now() - lastReport > 60_000) {
        log(`     … ${name}: cell ${progress.current} running, ${progress.total - progress.waiting}/${progress.total} code cells done (${seconds(t0)})`);
        lastReport = Date.now();
      }
      await sleep(500);
    }
    const ran = seconds(t0);
    const failure = firstFailure(await page.evaluate(pageCells));
    if (failure) problems.push(failure);
    // Figures are drawn as their output arrives; wait briefly for the last ones before judging.
    await page.waitForFunction(() => [...document.querySelectorAll("div.gpt-plot")].every((el) => el.querySelector("svg.main-svg")), null, { timeout: 10_000 }).catch(() => {});
    const charts = await page.evaluate(chartsInPage);
    if (!failure && !problems.length) problems.push(...chartProblems(charts, EXPECTED[name]));
    // Save the executed copy (out/browser/notebooks/) for the HTML export, then photograph the page.
    try {
      await page.evaluate(() => window.Jupyter.notebook.save_notebook());
      await page.addStyleTag({ content: FLOWING_PAGE_CSS });
      await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
    } catch (error) {
      problems.push(`saving or photographing the page failed: ${error.message}`);
    }
    return { problems, charts, ran };
  } finally {
    await closeKernel(lesson);
    await page.close().catch(() => {});
  }
}

/** Ends the lesson's session, which shuts its kernel down, so the next lesson starts with the machine to itself. */
async function closeKernel(lesson) {
  if (!started.server || interrupted) return; // stopped already: its kernels went with it
  try {
    for (const session of await api("/api/sessions")) {
      if (session.path === lesson || session.notebook?.path === lesson) await api(`/api/sessions/${session.id}`, { method: "DELETE" });
    }
  } catch (error) {
    console.error(`could not close ${lesson}'s kernel through the server: ${error.message} (it is stopped with the server)`);
  }
}

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

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const missing = missingPieces();
  const playwright = await loadPlaywright();
  if (!playwright) missing.push({ what: "playwright-core (a devDependency)", npm: true });
  if (missing.length) {
    const apt = missing.filter((m) => m.apt).map((m) => m.apt).join(" ");
    const how = [apt && `sudo apt install ${apt}`, missing.some((m) => m.npm) && "npm install"].filter(Boolean).join(", then ");
    const what = missing.map((m) => m.what).join(", ");
    if (process.env.CI === "true") {
      console.error(`browser test: ${what} missing. Install: ${how}  (CHROMIUM_PATH / PYTHON point at other installs)`);
      return 1;
    }
    log(`browser test skipped: ${what} not found — to run it: ${how}`);
    return 0;
  }
  const python = findPython(["notebook", "nbconvert"]);
  const chromium = findChromium();
  const filters = process.argv.slice(2);
  const lessons = lessonNames(readdirSync(join(root, "notebooks")), filters);
  if (!lessons.length) {
    console.error(`no lesson in notebooks/ matches ${filters.join(", ")}`);
    return 1;
  }

  const t0 = Date.now();
  rmSync(workDir, { recursive: true, force: true });
  const notebookDir = join(workDir, "notebooks");
  const htmlDir = join(workDir, "html");
  if (!filters.length) rmSync(shotsDir, { recursive: true, force: true }); // a full run replaces them all
  for (const dir of [notebookDir, htmlDir, shotsDir]) mkdirSync(dir, { recursive: true });
  for (const lesson of lessons) copyFileSync(join(root, "notebooks", lesson), join(notebookDir, lesson));

  await startServer(python, notebookDir, join(workDir, "jupyter.log"));
  log(`browser test: the classic Notebook on ${started.base} (PID ${started.server.pid}), Chromium ${chromium}, fast mode`);
  started.browser = await launchChromium(playwright, chromium);
  log(`     Chromium ${started.browser.version()} started (${seconds(t0)})`);

  const failures = [];
  for (const lesson of lessons) {
    if (interrupted) break;
    const name = basename(lesson, ".ipynb");
    const pageErrors = [];
    const context = await started.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const refused = await keepOffline(context, [started.base]);
    try {
      const live = await runLessonLive(context, lesson, pageErrors);
      let html = { problems: ["not checked: the lesson failed in the Notebook"], charts: [] };
      if (!live.problems.length) {
        const t1 = Date.now();
        await exportHtml(python, join(notebookDir, lesson), htmlDir);
        html = await checkHtml(context, lesson, join(htmlDir, `${name}.html`), pageErrors);
        html.took = seconds(t1);
      }
      if (!live.problems.length && !html.problems.length) {
        log(`ok   ${lesson}: Notebook ${live.ran}, ${describeCharts(live.charts)}; nbconvert HTML ${html.took}, ${describeCharts(html.charts)}`);
      } else {
        const where = live.problems.length ? "in the classic Notebook" : "in its nbconvert HTML page";
        const report = [`FAIL ${lesson} ${where}:`, ...(live.problems.length ? live.problems : html.problems).map((p) => `  ${p}`)];
        if (pageErrors.length) report.push("  JavaScript errors on the page:", ...pageErrors.map((e) => `    ${e}`));
        if (refused.length) report.push(`  requests refused (pages must work offline): ${refused.slice(0, 5).join(", ")}`);
        log(report.join("\n"));
        failures.push(lesson);
      }
    } catch (error) {
      if (interrupted) break;
      log(`FAIL ${lesson}: ${error.stack ?? error}`);
      failures.push(lesson);
    } finally {
      await context.close().catch(() => {});
    }
  }
  await cleanup();
  log(`browser: ${lessons.length - failures.length} passed, ${failures.length} failed (${seconds(t0)}); screenshots in out/screenshots/`);
  return failures.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`browser test: ${error.stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(process.exitCode || code);
