// What the browser test and `npm run render` share: finding and starting headless Chromium (through playwright-core,
// never a downloaded browser), keeping its pages offline, and reading the plotly charts a page drew.
import { existsSync } from "node:fs";

/** Where Chromium may live; CHROMIUM_PATH comes first. */
export function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((path) => path && existsSync(path));
}

/** playwright-core, or undefined when it is not installed (npm install brings it: it is a devDependency). */
export async function loadPlaywright() {
  try {
    return await import("playwright-core");
  } catch {
    return undefined;
  }
}

// Headless Chromium as root in a container: no sandbox, no GPU, and none of its background traffic. playwright gives
// every launch a fresh, empty profile (--user-data-dir) of its own and deletes it on close.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The caller handles Ctrl-C and SIGTERM itself (and closes the browser then), after stopping what else it started. */
export async function launchChromium(playwright, executablePath) {
  return playwright.chromium.launch({
    executablePath, headless: true, args: CHROMIUM_ARGS, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
}

/**
 * Lets a browser context load only file: URLs and the given origins (the local notebook server); anything else is
 * refused, so a page that works here works offline: plots must not need a CDN. Returns the list of refused URLs.
 */
export async function keepOffline(context, allowedOrigins = []) {
  const refused = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    const allowed = /^(file|data|blob|about):/.test(url) || allowedOrigins.some((origin) => url.startsWith(origin + "/"));
    if (allowed) return route.continue();
    refused.push(url);
    return route.abort();
  });
  return refused;
}

/**
 * Runs in the page: one entry per figure the library showed (lib/src/notebook/plot.ts gives each one a div.gpt-plot,
 * which Plotly.newPlot turns into a .js-plotly-plot holding its SVG). `drawn`: plotly drew it; `loss`: a line chart of
 * loss (its y axis says "loss"); `heatmap`: it holds drawn heatmap traces (g.hm images in .heatmaplayer).
 */
export function chartsInPage() {
  return [...document.querySelectorAll("div.gpt-plot")].map((el) => {
    const layout = el.layout || {};
    const axisTitle = (axis) => (axis && axis.title && (axis.title.text ?? axis.title)) || "";
    const title = (layout.title && (layout.title.text ?? layout.title)) || "";
    const drawn = el.classList.contains("js-plotly-plot") && el.querySelector("svg.main-svg") !== null;
    const lines = el.querySelectorAll(".scatterlayer .trace path.js-line").length;
    return {
      title: String(title),
      drawn,
      // plot.ts's fallback when plotly.js is missing from the page
      message: drawn ? "" : el.textContent.trim().slice(0, 200),
      loss: drawn && lines > 0 && /loss/i.test(String(axisTitle(layout.yaxis))),
      heatmap: drawn && el.querySelectorAll(".heatmaplayer g.hm image").length > 0,
    };
  });
}

/**
 * Runs in an nbconvert page (JupyterLab's template): code cells with stderr or error output (tslab writes a failing
 * cell's error to stderr), and code cells that were never run. `cell` is the index in the notebook, as the runners say.
 */
export function htmlProblemsInPage() {
  const result = [];
  [...document.querySelectorAll(".jp-Cell")].forEach((cell, index) => {
    if (!cell.classList.contains("jp-CodeCell")) return;
    const source = (cell.querySelector(".jp-InputArea-editor")?.textContent ?? "").trim();
    const prompt = (cell.querySelector(".jp-InputPrompt")?.textContent ?? "").trim();
    const errors = [...cell.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')].map((e) => e.textContent.trim());
    const firstLine = source.split("\n")[0].slice(0, 100);
    if (errors.length) result.push(`cell ${index} (${prompt}) has error output:\n---- cell source ----\n${source}\n---- error ----\n${errors.join("\n").slice(0, 3000)}`);
    else if (source && !/\[\d+\]/.test(prompt)) result.push(`cell ${index} was not executed (prompt "${prompt}"): ${firstLine}`);
  });
  return result;
}

/** Problems with a page's charts: any figure not drawn, and a missing loss chart or heatmap where one is expected. */
export function chartProblems(charts, { loss = false, heatmap = false, minCharts = 0 } = {}) {
  const problems = [];
  charts.forEach((chart, i) => {
    if (!chart.drawn) problems.push(`figure ${i + 1} (${chart.title || "untitled"}) was not drawn${chart.message ? `: "${chart.message}"` : ""}`);
  });
  if (charts.length < minCharts) problems.push(`expected at least ${minCharts} figure(s), found ${charts.length}`);
  if (loss && !charts.some((c) => c.loss)) problems.push("no loss chart was drawn (a plotly line chart whose y axis says loss)");
  if (heatmap && !charts.some((c) => c.heatmap)) problems.push("no heatmap was drawn (plotly heatmap images in .heatmaplayer)");
  return problems;
}

/** A one-line account of a page's charts, for the test's log. */
export function describeCharts(charts) {
  const drawn = charts.filter((c) => c.drawn).length;
  const loss = charts.filter((c) => c.loss).length;
  const heatmaps = charts.filter((c) => c.heatmap).length;
  return `${drawn}/${charts.length} figures drawn (${loss} loss, ${heatmaps} heatmap)`;
}
