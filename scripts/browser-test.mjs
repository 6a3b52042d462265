#!/usr/bin/env node
// npm run test:browser [-- 04 ...]: the lessons in JupyterLab, in a real browser, as a learner runs them (fast mode).
//
// The plan. One headless Chromium (playwright-core driving the system's Chromium, no downloaded browser) for all of it;
// one JupyterLab server (scripts/browser-test/server.mjs) per JupyterLab version, on copies of the lessons in
// out/browser/, so a save never writes outputs into the committed lessons:
//  - the newest JupyterLab (.venv/, requirements.txt): the interrupt button; the figures notebook; then every lesson
//    in notebooks/ with every check of scripts/browser-test/lesson.mjs (run, live line, figures, saved size, reload,
//    reopen), and its saved file exported with nbconvert and checked as an HTML page from file://;
//  - Binder's JupyterLab 4.4 (.venv-binder/, binder/*requirements.txt), where it is installed: the interrupt button,
//    the figures notebook and the first lesson, with the same checks (BROWSER_TEST_ALL=1: every lesson).
// The interrupt button: training in a scratch notebook, stopped from the toolbar; the live line must say where it
// stopped, no step may follow, and the kernel must generate and train on. The figures notebook: a live loss chart at
// the top, a heatmap far below (after enough prose that JupyterLab's windowing detaches the first while the second is
// in view) and a bar chart at the end. Both are made of the cells in test/cells/. Pages may load nothing from the
// network: the figures must work offline. Screenshots go to out/screenshots/.
// `-- figures` runs only the scratch notebooks; `-- 04` only the lessons whose name contains 04.
// BROWSER_TEST_VENVS=".venv,.venv-binder" names the environments. Without Chromium or JupyterLab the test says what to
// install and runs the lessons with nbclient instead (`node scripts/jupyter.mjs test`); under CI=true it fails.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { chartProblems, chartsInPage, describeCharts, findChromium, htmlProblemsInPage, keepOffline, launchChromium, loadPlaywright } from "./browser.mjs";
import { describe, runLesson } from "./browser-test/lesson.mjs";
import { execute, interruptKernel, openNotebook, seen, startRunAll, waitIdle } from "./browser-test/page.mjs";
import { cleanup, closeKernel, started, startServer, stopJupyter, stopOnSignals } from "./browser-test/server.mjs";
import { lessonNames, root } from "./lesson-env.mjs";
import { findPython, pythonIn } from "./python.mjs";

const outDir = join(root, "out");
const workDir = join(outDir, "browser");
const shotsDir = join(outDir, "screenshots");
const cellsDir = join(root, "test", "cells");
const log = (line) => console.log(line);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(0)}s`;
const cell = (name) => readFileSync(join(cellsDir, `${name}.ts`), "utf8");

// ---------------------------------------------------------------------------------------------------------------
// The scratch notebooks.

function writeNotebook(notebookDir, path, cells) {
  const nb = {
    cells: cells.map(([type, source]) => (type === "code" ? { cell_type: "code", execution_count: null, metadata: {}, outputs: [], source } : { cell_type: "markdown", metadata: {}, source })),
    metadata: { kernelspec: { display_name: "TypeScript (tslab)", language: "typescript", name: "tslab" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  writeFileSync(join(notebookDir, path), JSON.stringify(nb));
  return path;
}

const PROSE = Array.from({ length: 6 }, (_, i) => `Paragraph ${i + 1}. ` + "A line of prose that takes room on the page, so that cells far apart are not in view together. ".repeat(12)).join("\n\n");
const prose = (from) => Array.from({ length: 25 }, (_, i) => ["markdown", `${PROSE} (${from + i})`]);

/** The figures notebook, and what it must show: a live line, a loss chart, a heatmap, three figures in all. */
const FIGURES = { path: "figures-check.ipynb", expected: { loss: true, heatmap: true, progress: true, minCharts: 3 } };
const writeFiguresNotebook = (notebookDir) =>
  writeNotebook(notebookDir, FIGURES.path, [
    ["code", cell("setup")], ["code", cell("short-training")], ...prose(1), ["code", cell("heatmap")], ...prose(26), ["code", cell("bar-chart")],
  ]);

/** Training in a scratch notebook, interrupted from the toolbar; then the kernel must have stopped, generate and train. */
async function checkInterrupt(context, notebookDir, tag) {
  const path = writeNotebook(notebookDir, "interrupt-check.ipynb", [["code", cell("setup")], ["code", cell("long-training")]]);
  const problems = [];
  let page;
  try {
    ({ page } = await openNotebook(context, { path }));
    await startRunAll(page);
    const wait = { timeout: Number(process.env.BROWSER_INTERRUPT_WAIT ?? 240_000), polling: 250 };
    await page.waitForFunction(() => Object.values(window.gptTest.updates).some((u) => u.updates >= 3 && /^long run: step/.test(u.last)), null, wait);
    const how = await interruptKernel(page);
    await waitIdle(page);
    // train() stops at the next step boundary and writes its last line then
    await page.waitForFunction(() => Object.values(window.gptTest.updates).some((u) => /^long run: interrupted at step/.test(u.last)), null, { timeout: 60_000, polling: 250 }).catch(() => {});
    const last = await page.evaluate(() => Object.values(window.gptTest.updates).map((u) => u.last).find((text) => /^long run/.test(text)));
    const stoppedAt = Number(last?.match(/interrupted at step (\d+)/)?.[1]);
    if (!Number.isFinite(stoppedAt)) problems.push(`the live line does not say where training stopped: "${last}"`);
    // tslab aborts a request that arrives while the interrupted cell is still being wound up (status "abort", as a
    // kernel's stop-on-error does): a learner runs the cell again, and so does the test, after a second.
    const run = async (code) => {
      let reply = await execute(page, code);
      for (let retry = 0; retry < 3 && reply.status === "abort"; retry++) {
        await sleep(1000);
        reply = await execute(page, code);
      }
      if (reply.status !== "ok") throw new Error(`the kernel did not run code after the interrupt: ${reply.status} ${reply.out}`);
      return JSON.parse(reply.out.trim().split("\n").pop() || "{}");
    };
    const stopped = await run(cell("stopped"));
    if (stopped.moved !== 0) problems.push(`training went on after the interrupt: ${stopped.moved} more steps in 0.5 s`);
    if (stopped.t !== stoppedAt) problems.push(`the optimizer took ${stopped.t} steps, the live line says ${stoppedAt}`);
    const resumed = await run(cell("resume"));
    if (!(resumed.sample > 0) || resumed.steps !== 20 || !resumed.finite) problems.push(`after the interrupt the model did not generate and train on: ${JSON.stringify(resumed)}`);
    await page.screenshot({ path: join(shotsDir, `interrupt.${tag}.png`) });
    return { problems, summary: `${how}: "${(last ?? "").slice(0, 100)}"; then steps moved ${stopped.moved}, generated ${resumed.sample} characters, trained ${resumed.steps} more steps` };
  } catch (error) {
    problems.push(error.message);
    if (page) {
      await page.screenshot({ path: join(shotsDir, `interrupt.${tag}.failed.png`) }).catch(() => {});
      problems.push(`seen: ${(await seen(page)).slice(0, 1500)}`);
    }
    return { problems, summary: "" };
  } finally {
    await closeKernel(path);
    await page?.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The saved lesson as an HTML page (nbconvert), from file://: no failed or unrun cell, the same figures drawn.

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

async function checkHtml(context, lesson, htmlFile, live, pageErrors) {
  const name = basename(lesson, ".ipynb");
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`html page: ${error.message}`));
  try {
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: "load", timeout: 120_000 });
    await page.waitForFunction(() => [...document.querySelectorAll("div.gpt-plot")].every((el) => el.querySelector("svg.main-svg")), null, { timeout: 15_000 }).catch(() => {});
    const problems = await page.evaluate(htmlProblemsInPage);
    const charts = await page.evaluate(chartsInPage);
    // what JupyterLab drew live, the page draws too
    problems.push(...chartProblems(charts, { minCharts: live.length, loss: live.some((f) => f.loss), heatmap: live.some((f) => f.heatmap) }));
    await page.screenshot({ path: join(shotsDir, `${name}.html.png`), fullPage: true });
    return { problems, charts };
  } finally {
    await page.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------

function labVersion(python) {
  const probe = spawnSync(python, ["-c", "import jupyterlab; print(jupyterlab.__version__)"], { encoding: "utf8" });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** The JupyterLabs to test: each environment of BROWSER_TEST_VENVS that exists, else whatever findPython finds. */
function jupyterLabs() {
  const labs = [];
  for (const venv of (process.env.BROWSER_TEST_VENVS ?? ".venv,.venv-binder").split(",").filter(Boolean)) {
    const python = pythonIn(join(root, venv));
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

/** Without a browser or a JupyterLab: the lessons as the learner gets them, with nbclient, so they are still run. */
function withoutBrowser(missing) {
  if (process.env.CI === "true") {
    console.error(`browser test: missing ${missing.join(", ")}`);
    return 1;
  }
  log(`browser test skipped: missing ${missing.join(", ")}. The lessons run with nbclient instead:`);
  return spawnSync(process.execPath, [join(root, "scripts", "jupyter.mjs"), "test"], { cwd: root, stdio: "inherit" }).status ?? 1;
}

/** One JupyterLab: its server, the interrupt button, the figures notebook, then `lessons`. Returns [runs, failures]. */
async function testLab(lab, lessons, { html }) {
  const tag = `lab${lab.version}`;
  const notebookDir = join(workDir, tag, "notebooks");
  mkdirSync(notebookDir, { recursive: true });
  // beside the project's node_modules, two levels down as notebooks/ is one: `@build-gpt/lib` resolves from there
  for (const lesson of lessons) copyFileSync(join(root, "notebooks", lesson), join(notebookDir, lesson));
  await startServer(lab.python, notebookDir, join(workDir, `${tag}.log`));
  log(`browser test: JupyterLab ${lab.version} (${lab.venv}) on ${started.base}, Chromium ${started.browser.version()}, fast mode`);
  const context = await started.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const refused = await keepOffline(context, [started.base]);
  const failures = [];
  let runs = 0;
  try {
    const t0 = Date.now();
    const interrupt = await checkInterrupt(context, notebookDir, tag);
    runs += 1;
    if (interrupt.problems.length) {
      log(`FAIL interrupt (JupyterLab ${lab.version}):\n  ${interrupt.problems.join("\n  ")}`);
      failures.push(`interrupt in ${lab.version}`);
    } else log(`ok   interrupt (JupyterLab ${lab.version}, ${seconds(t0)}): ${interrupt.summary}`);
    writeFiguresNotebook(notebookDir);
    for (const lesson of [FIGURES.path, ...lessons]) {
      if (started.stopping) break;
      const pageErrors = [];
      const t1 = Date.now();
      runs += 1;
      try {
        const expected = lesson === FIGURES.path ? FIGURES.expected : {};
        const live = await runLesson(context, { path: lesson, file: join(notebookDir, lesson), tag, shotsDir, expected, pageErrors, log });
        let checked = { problems: [], charts: [] };
        if (!live.problems.length && html && lesson !== FIGURES.path) {
          const t2 = Date.now();
          await exportHtml(lab.python, join(notebookDir, lesson), join(workDir, "html"));
          checked = await checkHtml(context, lesson, join(workDir, "html", `${basename(lesson, ".ipynb")}.html`), live.figures, pageErrors);
          live.phases.push(`html ${seconds(t2)}`);
        }
        const problems = [...live.problems, ...checked.problems.map((p) => `nbconvert HTML: ${p}`)];
        if (!problems.length) {
          const htmlPart = html && lesson !== FIGURES.path ? `; nbconvert HTML ${describeCharts(checked.charts)}` : "";
          log(`ok   ${lesson} (JupyterLab ${lab.version}, ${seconds(t1)}: ${live.phases.join(", ")}): ${describe(live.figures)}; ${live.notes.join("; ")}${htmlPart}`);
        } else {
          const report = [`FAIL ${lesson} (JupyterLab ${lab.version}):`, ...problems.map((p) => `  ${p}`)];
          if (pageErrors.length) report.push("  JavaScript errors on the page:", ...pageErrors.slice(0, 10).map((e) => `    ${e}`));
          if (refused.length) report.push(`  requests refused (pages must work offline): ${refused.slice(0, 5).join(", ")}`);
          log(report.join("\n"));
          failures.push(`${lesson} in ${lab.version}`);
        }
      } catch (error) {
        if (started.stopping) break;
        log(`FAIL ${lesson} (JupyterLab ${lab.version}): ${error.stack ?? error}`);
        failures.push(`${lesson} in ${lab.version}`);
      }
    }
  } finally {
    await context.close().catch(() => {});
    await stopJupyter();
  }
  return [runs, failures];
}

async function main() {
  const labs = jupyterLabs();
  const playwright = await loadPlaywright();
  const chromium = findChromium();
  const missing = [
    !chromium && "Chromium (sudo apt install chromium)",
    !labs.length && "JupyterLab (npm install makes .venv/ with it)",
    !playwright && "playwright-core (npm install)",
  ].filter(Boolean);
  if (missing.length) return withoutBrowser(missing);
  const filters = process.argv.slice(2);
  const scratchOnly = filters.includes("figures");
  const lessons = scratchOnly ? [] : lessonNames(readdirSync(join(root, "notebooks")), filters);
  if (!lessons.length && !scratchOnly) {
    console.error(`no lesson in notebooks/ matches ${filters.join(", ")}`);
    return 1;
  }
  const t0 = Date.now();
  rmSync(workDir, { recursive: true, force: true });
  if (!filters.length) rmSync(shotsDir, { recursive: true, force: true }); // a full run replaces them all
  for (const dir of [join(workDir, "html"), shotsDir]) mkdirSync(dir, { recursive: true });
  started.browser = await launchChromium(playwright, chromium);
  let runs = 0;
  const failures = [];
  for (const [n, lab] of labs.entries()) {
    if (started.stopping) break;
    // the newest JupyterLab runs every lesson; Binder's the first (its badge's), unless BROWSER_TEST_ALL=1
    const mine = n === 0 || process.env.BROWSER_TEST_ALL === "1" ? lessons : lessons.slice(0, 1);
    const [labRuns, labFailures] = await testLab(lab, mine, { html: n === 0 });
    runs += labRuns;
    failures.push(...labFailures);
  }
  await cleanup();
  log(`browser: ${runs - failures.length} passed, ${failures.length} failed (${seconds(t0)}) in JupyterLab ${labs.map((l) => l.version).join(" and ")}; screenshots in out/screenshots/`);
  return failures.length ? 1 : 0;
}

stopOnSignals();
let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`browser test: ${error.stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(process.exitCode || code);
