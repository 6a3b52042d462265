// One notebook in JupyterLab, as a learner meets it, and what the browser test checks of it:
//  1. open lab/tree/<notebook>, accept the kernel if JupyterLab asks, Run > Run All Cells;
//  2. no cell failed (an error reply, error output or stderr); a live progress line, where the notebook trains with
//     liveProgress, was updated in place (update_display_data of one output) while training ran; every figure drawn,
//     each as what the kernel sent (a heatmap as a heatmap, a loss chart as lines against "loss"): each cell with a
//     figure is scrolled into view, since JupyterLab detaches cells out of view;
//  3. save it: the saved file is at most MAX_SAVED_BYTES; scroll to the bottom and back, reload the page, and close and
//     reopen the notebook: after each, every figure draws again, from the saved file.
// Screenshots: <name>.<tag>.png after Run All, <name>.<tag>.reopened.png after reopening, .failed.png on a failure.
import { statSync } from "node:fs";
import { basename, join } from "node:path";
import { chartProblems, describeCharts } from "../browser.mjs";
import {
  cellsOf, figuresOf, liveLinesOf, openNotebook, reload, reopen, runAllCells, save, scrollBottomAndBack, showFirstFigure,
} from "./page.mjs";
import { closeKernel } from "./server.mjs";

/** A lesson saved after Run All: plotly.js goes into it once, packed (lib/src/notebook/plot.ts). */
export const MAX_SAVED_BYTES = 5_000_000;
const LESSON_TIMEOUT_S = Number(process.env.BROWSER_TEST_TIMEOUT ?? 1200); // per notebook; fast mode takes a minute or two
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(0)}s`;

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

/**
 * Figures not drawn, or not drawn as what they are, and a notebook's own expectations (`expected`: at least
 * `minCharts` figures, a loss chart, a heatmap). A saved PNG snapshot cannot be told a loss chart or a heatmap: those
 * were checked on the live figures.
 */
function figureProblems(figures, expected, when) {
  const problems = [];
  figures.forEach((f, i) => {
    if (!f.drawn || f.snapshot) return;
    if (f.want?.heatmap && !f.heatmap) problems.push(`figure ${i + 1} (${f.title || "untitled"}, cell ${f.cell}) holds a heatmap trace, and no heatmap was drawn`);
    if (f.want?.loss && !f.loss) problems.push(`figure ${i + 1} (${f.title || "untitled"}, cell ${f.cell}) is a loss chart, and no loss line was drawn`);
  });
  const what = figures.some((f) => f.snapshot) ? { minCharts: expected.minCharts } : expected;
  return [...chartProblems(figures, what), ...problems].map((p) => `${when}: ${p}`);
}

/** The live line: one output updated in place while training ran, where the notebook trains with liveProgress. */
function liveLineProblems(updates, trains, notes) {
  const live = updates.filter((u) => u.updates >= 2);
  const problems = [];
  if (trains && !live.length) problems.push("no live progress line was updated in place (no display updated twice while training ran)");
  const grew = live.find((u) => u.outputsSeen.some((n) => n > 1 + updates.length));
  if (grew) problems.push(`a progress line's cell gained outputs instead of updating one: ${grew.outputsSeen.join(",")}`);
  else if (live.length) notes.push(`${live.length} live line(s), ${live.map((u) => u.updates).join("+")} updates in place, last "${live[live.length - 1].last.slice(0, 90)}"`);
  return problems;
}

export const describe = (figures) => `${describeCharts(figures)} [${[...new Set(figures.map((f) => f.renderer))].join(", ")}]`;

/**
 * Runs one notebook in the JupyterLab at started.base, in `context`, and checks it. `file`: the notebook on disk, for
 * the saved size; `afterReload: false` stops after the save. Returns { problems, figures, ran, notes, phases }.
 */
export async function runLesson(context, { path, urlPath, file, tag, shotsDir, expected = {}, pageErrors = [], afterReload = true, log = console.log }) {
  const name = basename(path, ".ipynb");
  const problems = [];
  const notes = [];
  const phases = []; // where the time went: "run 35s", "checks 8s", ...
  let figures = [];
  let ran = "";
  let page;
  let t = Date.now();
  const phase = (label) => {
    phases.push(`${label} ${seconds(t)}`);
    t = Date.now();
  };
  try {
    const opened = await openNotebook(context, { path, urlPath, pageErrors });
    page = opened.page;
    notes.push(`kernel ${opened.ready.kernel}, windowing ${opened.ready.windowing}`);
    phase("open");
    const t0 = Date.now();
    const { progress, problem } = await runAllCells(page, {
      timeoutS: LESSON_TIMEOUT_S,
      onSlow: (p) => log(`     … ${name}: ${p.replies}/${p.code} code cells done (${seconds(t0)})`),
    });
    ran = seconds(t0);
    phase("run");
    if (problem) problems.push(problem);
    const cells = await cellsOf(page);
    const failure = firstFailure(cells);
    if (failure) problems.push(failure);
    else if (progress.failed >= 0) problems.push(`an execute_reply said error (request ${progress.failed + 1}), with no error output`);
    if (problems.length) {
      await page.screenshot({ path: join(shotsDir, `${name}.${tag}.failed.png`) }).catch(() => {});
      return { problems, figures, ran, notes, phases };
    }
    const trains = expected.progress ?? cells.some((c) => /\bliveProgress\s*\(/.test(c.source));
    problems.push(...liveLineProblems(await liveLinesOf(page), trains, notes));
    figures = await figuresOf(page);
    // a notebook that calls showPlot shows at least one figure
    const plots = { minCharts: cells.some((c) => /\bshowPlot\s*\(/.test(c.source)) ? 1 : 0, ...expected };
    problems.push(...figureProblems(figures, plots, "after Run All"));
    await showFirstFigure(page);
    await page.screenshot({ path: join(shotsDir, `${name}.${tag}.png`) });
    phase("checks");
    if (!(await save(page))) problems.push("the notebook could not be saved");
    else if (file) {
      const bytes = statSync(file).size;
      notes.push(`saved ${(bytes / 1e6).toFixed(2)} MB`);
      if (bytes > MAX_SAVED_BYTES) problems.push(`saved after Run All it is ${(bytes / 1e6).toFixed(2)} MB, more than ${MAX_SAVED_BYTES / 1e6} MB`);
    }
    await scrollBottomAndBack(page);
    problems.push(...figureProblems(await figuresOf(page), expected, "after scrolling to the bottom and back"));
    phase("save+scroll");
    if (afterReload) {
      await reload(page, path);
      const reloaded = await figuresOf(page);
      problems.push(...figureProblems(reloaded, expected, "after reloading the page"));
      if (reloaded.length !== figures.length) problems.push(`after reloading: ${reloaded.length} figures, not ${figures.length}`);
      phase("reload");
      await reopen(page, path);
      const reopened = await figuresOf(page);
      problems.push(...figureProblems(reopened, expected, "after reopening the saved notebook"));
      if (reopened.length !== figures.length) problems.push(`after reopening: ${reopened.length} figures, not ${figures.length}`);
      await showFirstFigure(page);
      await page.screenshot({ path: join(shotsDir, `${name}.${tag}.reopened.png`) });
      notes.push(`reload: ${describe(reloaded)}; reopen: ${describe(reopened)}`);
      phase("reopen");
    }
    return { problems, figures, ran, notes, phases };
  } catch (error) {
    if (page) await page.screenshot({ path: join(shotsDir, `${name}.${tag}.failed.png`) }).catch(() => {});
    throw error;
  } finally {
    await closeKernel(path);
    await page?.close().catch(() => {});
  }
}
