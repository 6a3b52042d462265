// The browser test's page driver: a notebook open in JupyterLab in headless Chromium, driven as a learner does (the
// menu's commands, the toolbar's buttons) and read through JupyterLab's app (window.jupyterapp, exposed by
// --LabApp.expose_app_in_browser, as Galata does). The page* functions run in the page: they are serialised into it.
import { started } from "./server.mjs";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// In the page.

/**
 * The notebook panel open on `path`, ready (with `kernel`: its kernel started and idle); clicks the accept button if a
 * dialog asks (the kernel choice). Returns false until then.
 */
function pagePanelReady({ path, kernel: needKernel }) {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const accept = document.querySelector(".jp-Dialog .jp-Dialog-button.jp-mod-accept");
  if (accept) {
    window.gptDialog = (window.gptDialog || []).concat(document.querySelector(".jp-Dialog-header")?.textContent ?? "a dialog");
    accept.click();
    return false;
  }
  const panel = [...app.shell.widgets("main")].find((w) => w.context && w.context.path === path && w.content && w.content.model);
  if (!panel || !panel.context.isReady) return false;
  if (needKernel) {
    if (!panel.sessionContext.isReady) return false;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel || kernel.status !== "idle" || kernel.connectionStatus !== "connected") return false;
  }
  window.gptPanel = panel;
  return { kernel: panel.sessionContext.kernelDisplayName, windowing: panel.content.notebookConfig?.windowingMode ?? "?" };
}

/** Records the kernel's messages (execute requests and replies, live lines' updates), then runs Run > Run All Cells. */
function pageRunAll() {
  const panel = window.gptPanel;
  const kernel = panel.sessionContext.session.kernel;
  const t = (window.gptTest = { requests: [], replies: {}, updates: {}, lost: null });
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
  // cell that holds it while training runs (sampled here, every half second).
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
 * only the cells near the view), and its drawn charts are read. One entry per figure output, with `want`: what the
 * figure the kernel sent is (a heatmap: a heatmap trace; a loss chart: lines against a y axis that says loss).
 */
async function pageFigures(mime) {
  const notebook = window.gptPanel.content;
  const axisTitle = (axis) => String((axis && axis.title && (axis.title.text ?? axis.title)) || "");
  const figures = [];
  const cells = [...notebook.model.cells];
  for (let index = 0; index < cells.length; index++) {
    const cell = cells[index];
    if (cell.type !== "code") continue;
    // a figure: a plotly MIME bundle, or the HTML form alone (the live loss chart, redrawn as HTML)
    const outputs = cell.outputs.toJSON().filter((o) => o.data && (o.data[mime] || /class="gpt-plot"/.test(String(o.data["text/html"] ?? ""))));
    if (!outputs.length) continue;
    const wants = outputs.map((o) => {
      const fig = o.data[mime] || {};
      const traces = fig.data || [];
      return {
        heatmap: traces.some((t) => t.type === "heatmap"),
        loss: /loss/i.test(axisTitle(fig.layout && fig.layout.yaxis)) && traces.some((t) => !t.type || t.type === "scatter"),
      };
    });
    if (notebook.scrollToItem) await notebook.scrollToItem(index, "center").catch(() => {});
    else notebook.widgets[index].node.scrollIntoView();
    let charts = [];
    // the renderer's code (plotly.js, some MB) loads when the first figure is shown: allow a loaded machine 25 s
    for (const until = Date.now() + 25_000; Date.now() < until; ) {
      const node = notebook.widgets[index].node;
      charts = [...node.querySelectorAll(".js-plotly-plot")].map((el) => {
        const layout = el.layout || (el._fullLayout ?? {});
        const title = (layout.title && (layout.title.text ?? layout.title)) || "";
        const drawn = el.querySelector("svg.main-svg") !== null;
        return {
          cell: index,
          title: String(title),
          drawn,
          renderer: el.closest(".jp-RenderedPlotly") ? "plotly renderer" : el.closest(".jp-RenderedHTMLCommon") ? "HTML fallback" : "?",
          loss: drawn && el.querySelectorAll(".scatterlayer .trace path.js-line").length > 0 && /loss/i.test(axisTitle(layout.yaxis)),
          heatmap: drawn && el.querySelectorAll(".heatmaplayer g.hm image").length > 0,
        };
      });
      // A saved notebook reopened: plotly's renderer first shows the PNG snapshot it stored in the output at save time.
      // (Beside a live chart it keeps an <img> with no source: that is no figure.)
      for (const img of node.querySelectorAll(".jp-RenderedPlotly img.plot-img")) {
        if (!img.getAttribute("src")) continue;
        charts.push({ cell: index, title: "", drawn: img.complete && img.naturalWidth > 0, renderer: "saved PNG snapshot", loss: false, heatmap: false, snapshot: true });
      }
      if (charts.length >= outputs.length && charts.slice(0, outputs.length).every((c) => c.drawn)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const node = notebook.widgets[index].node;
    const fallback = node.querySelector(".gpt-plot:not(.js-plotly-plot)");
    const shown = [...node.querySelectorAll(".jp-OutputArea-output[data-mime-type]")].map((e) => e.getAttribute("data-mime-type"));
    const message = fallback ? `${fallback.textContent.trim().slice(0, 200) || "(the HTML form, its script not run)"}; outputs shown as ${shown.join(", ")}` : `outputs shown as ${shown.join(", ") || "nothing"}`;
    wants.forEach((want, i) => figures.push({ ...(charts[i] ?? { cell: index, title: "", drawn: false, renderer: "none", message, loss: false, heatmap: false }), want }));
  }
  return figures;
}

/** Scrolls the notebook to its last cell and back to the first (JupyterLab detaches and re-attaches cells). */
async function pageScrollBottomAndBack() {
  const notebook = window.gptPanel.content;
  const last = notebook.widgets.length - 1;
  const pause = () => new Promise((r) => setTimeout(r, 1000));
  if (notebook.scrollToItem) {
    await notebook.scrollToItem(last, "end").catch(() => {});
    await pause();
    await notebook.scrollToItem(0, "start").catch(() => {});
  } else {
    notebook.widgets[last].node.scrollIntoView();
    await pause();
    notebook.widgets[0].node.scrollIntoView();
  }
  await pause();
  return true;
}

/** Scrolls the first figure (a plotly output) into view, for the screenshot. */
async function pageShowFirstFigure(mime) {
  const notebook = window.gptPanel.content;
  const index = [...notebook.model.cells].findIndex((c) => c.type === "code" && c.outputs.toJSON().some((o) => o.data && o.data[mime]));
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
// From the test.

/** Waits until the panel on `path` is ready (and, with `kernel`, its kernel idle); returns its kernel and windowing. */
export async function waitPanel(page, path, { kernel = true, timeout = 180_000 } = {}) {
  const handle = await page.waitForFunction(pagePanelReady, { path, kernel }, { timeout, polling: 250 });
  return handle.jsonValue();
}

/** A new page on lab/tree/<path> (or `urlPath`), its notebook ready to run; JavaScript errors go to `pageErrors`. */
export async function openNotebook(context, { path, urlPath = `lab/tree/${path}`, pageErrors = [] }) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 1000 });
  page.on("pageerror", (error) => pageErrors.push(`${path}: ${error.message}`));
  await page.goto(`${started.base}/${urlPath}?token=${started.token}`, { waitUntil: "load", timeout: 60_000 });
  const ready = await waitPanel(page, path);
  return { page, ready };
}

/**
 * Run > Run All Cells, then waits until every code cell has replied, a cell failed (and the run stopped), the kernel
 * was lost, or `timeoutS` passed. `onSlow(progress)` is called once a minute. Returns { progress, problem }.
 */
export async function runAllCells(page, { timeoutS, onSlow = () => {} }) {
  await startRunAll(page);
  const deadline = Date.now() + timeoutS * 1000;
  let failedAt;
  let lastReport = Date.now();
  for (;;) {
    const progress = await page.evaluate(pageProgress);
    if (progress.lost) return { progress, problem: `the kernel was lost (${progress.lost}) after ${progress.replies}/${progress.code} code cells` };
    if (progress.requests >= progress.code && progress.replies === progress.requests && !progress.busy) return { progress };
    if (progress.failed >= 0) {
      failedAt ??= Date.now();
      if ((progress.replies === progress.requests && Date.now() - failedAt > 3000) || Date.now() - failedAt > 30_000) return { progress };
    }
    if (Date.now() > deadline) {
      return { progress, problem: `timed out after ${timeoutS}s with ${progress.replies}/${progress.code} code cells done (BROWSER_TEST_TIMEOUT sets the limit)` };
    }
    if (Date.now() - lastReport > 60_000) {
      onSlow(progress);
      lastReport = Date.now();
    }
    await sleep(500);
  }
}

/** Run > Run All Cells, not waited for; the kernel's messages are recorded from here on (window.gptTest). */
export const startRunAll = (page) => page.evaluate(pageRunAll);
export const cellsOf = (page) => page.evaluate(pageCells);
export const figuresOf = (page) => page.evaluate(pageFigures, PLOTLY_MIME);
export const liveLinesOf = (page) => page.evaluate(() => Object.values(window.gptTest.updates));
export const save = (page) => page.evaluate(pageSave);
export const scrollBottomAndBack = (page) => page.evaluate(pageScrollBottomAndBack);
export const showFirstFigure = (page) => page.evaluate(pageShowFirstFigure, PLOTLY_MIME);
export const execute = (page, code) => page.evaluate(pageExecute, code);
export const seen = (page) => page.evaluate(() => JSON.stringify({ t: window.gptTest, dialogs: window.gptDialog })).catch(() => "");

/** Reloads the page; JupyterLab reopens the notebook from the saved file, on the kernel it had. */
export async function reload(page, path) {
  await page.reload({ waitUntil: "load", timeout: 60_000 });
  await waitPanel(page, path, { kernel: false });
}

/** File > Close All, then opens the notebook again from the saved file (the kernel, as in JupyterLab, kept running). */
export async function reopen(page, path) {
  await page.evaluate(() => window.jupyterapp.commands.execute("application:close-all"));
  await page.evaluate((p) => window.jupyterapp.commands.execute("docmanager:open", { path: p, factory: "Notebook" }).then(() => true), path);
  await waitPanel(page, path, { kernel: false });
}

/** Interrupts the kernel as a learner does: the toolbar's button, else Kernel > Interrupt Kernel. Returns which. */
export async function interruptKernel(page) {
  const button = page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').first();
  if (await button.count()) {
    await button.click();
    return "the toolbar's interrupt button";
  }
  await page.evaluate(() => window.jupyterapp.commands.execute("notebook:interrupt-kernel"));
  return "Kernel > Interrupt Kernel";
}

/** Waits for the kernel to be idle again. */
export async function waitIdle(page, timeout = 60_000) {
  await page.waitForFunction(() => window.gptPanel.sessionContext.session.kernel.status === "idle", null, { timeout, polling: 250 });
}
