/**
 * Plotly figures as notebook output that needs no network. Each figure is one MIME bundle of two forms:
 * - `application/vnd.plotly.v1+json` (the figure as JSON), which JupyterLab and Notebook 7 draw with their own plotly
 *   renderer (the `plotly` Python package brings it; requirements.txt and binder/ install it). Every figure is drawn on
 *   its own, so it holds when JupyterLab detaches cells out of view (windowing), after a reload, and when a saved
 *   notebook is reopened.
 * - `text/html` with a <script>, for front ends without that renderer (the classic Notebook 6, VS Code, `jupyter
 *   nbconvert --to html`): plotly.js's minified bundle (plotly.js-dist-min) is read from node_modules and inlined into
 *   the first figure a kernel shows, gzipped and base64-encoded (1.9 MB instead of 4.8 MB in every saved notebook);
 *   the page unpacks it with DecompressionStream, and later figures reuse it from there.
 */
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { bundleDisplay, tslabDisplay, type MimeBundle } from "./display";

/** The MIME type of JupyterLab's plotly renderer (the `plotly` Python package's labextension). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A plotly figure: traces, layout, config, as in plotly.js's Plotly.newPlot(div, data, layout, config). */
export interface Figure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let plotlyPacked: string | undefined;
/** Whether this kernel has already sent plotly.js to the page (the one piece of state here). */
let plotlySent = false;

/** plotly.min.js, gzipped and base64-encoded. */
function packedPlotly(): string {
  plotlyPacked ??= gzipSync(readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js")), { level: 9 }).toString("base64");
  return plotlyPacked;
}

/**
 * A script that unpacks plotly.js in the page, runs it, and leaves window.gptPlotly: a promise of window.Plotly, on
 * which the figures' scripts wait. A page that has plotly.js already keeps it.
 */
function plotlyScript(): string {
  return `<script type="text/javascript">(function () {
  if (window.Plotly || window.gptPlotly) return;
  var bytes = Uint8Array.from(atob("${packedPlotly()}"), function (c) { return c.charCodeAt(0); });
  var source = new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  window.gptPlotly = source.then(function (text) {
    var script = document.createElement("script");
    script.text = text;
    document.head.appendChild(script);
    return window.Plotly;
  });
})();</script>`;
}

/** JSON with typed arrays (a tensor's data) written as arrays, as plotly reads them. */
const plainJson = (value: unknown) => JSON.stringify(value ?? {}, (_key, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v));

/** Serialises for a <script> body: JSON that cannot close the script tag. */
const scriptJson = (value: unknown) => plainJson(value).replace(/</g, "\\u003c");

/**
 * The HTML for one figure. `includePlotly`: inline plotly.js (1.9 MB, packed) in this output; needed once per page.
 * If plotly.js is missing on the page (its output was cleared), the figure says how to fix it.
 */
export function plotHtml(figure: Figure, { includePlotly = true, height = 420 }: { includePlotly?: boolean; height?: number } = {}): string {
  const id = `plot-${randomBytes(6).toString("hex")}`;
  const layout = { height, margin: { t: 50, r: 20, b: 50, l: 60 }, ...figure.layout };
  const config = { responsive: true, displaylogo: false, ...figure.config };
  return (
    (includePlotly ? plotlyScript() : "") +
    `<div id="${id}" class="gpt-plot" style="width:100%;min-height:${height}px"></div>` +
    `<script type="text/javascript">(function () {
  var el = document.getElementById(${JSON.stringify(id)});
  var missing = "plotly.js is not loaded on this page: run the notebook again from the top (Kernel > Restart & Run All), or install the plotly package where Jupyter runs (pip install plotly) for JupyterLab's own renderer.";
  var plotly = window.Plotly ? Promise.resolve(window.Plotly) : window.gptPlotly;
  if (!plotly) { el.textContent = missing; return; }
  plotly.then(function (Plotly) {
    if (!Plotly) { el.textContent = missing; return; }
    Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(layout)}, ${scriptJson(config)});
  });
})();</script>`
  );
}

/**
 * One figure as a MIME bundle: plotly's JSON (for JupyterLab's renderer), the HTML fallback, and a line of text.
 * `includePlotly` as for plotHtml.
 */
export function plotBundle(figure: Figure, { includePlotly = true, height = 420 }: { includePlotly?: boolean; height?: number } = {}): MimeBundle {
  const layout = { height, margin: { t: 50, r: 20, b: 50, l: 60 }, ...figure.layout };
  const config = { displaylogo: false, ...figure.config };
  const title = (layout as { title?: { text?: string } | string }).title;
  const name = typeof title === "string" ? title : title?.text;
  // JSON round trip: what the message will carry (typed arrays would otherwise become objects of indices)
  const json = JSON.parse(plainJson({ data: figure.data, layout, config }));
  return {
    [PLOTLY_MIME]: json,
    "text/html": plotHtml(figure, { includePlotly, height }),
    "text/plain": `<plotly figure${name ? `: ${name}` : ""}>`,
  };
}

/** Shows a figure in the notebook (tslab). The HTML form of a kernel's first figure carries plotly.js. */
export function showPlot(figure: Figure, options: { height?: number } = {}): void {
  bundleDisplay()(plotBundle(figure, { ...options, includePlotly: !plotlySent }));
  plotlySent = true;
}

/**
 * Sends plotly.js to the page as an output of its own, if this kernel has not sent it yet: for a figure that is
 * redrawn in place (a live loss plot), which must not carry 1.9 MB of script at every redraw.
 */
export function loadPlotly(): void {
  if (plotlySent) return;
  tslabDisplay().html(plotlyScript());
  plotlySent = true;
}

export interface LossSeries {
  name: string;
  points: { step: number; train?: number; val?: number }[];
}

/** Train (dashed) and val (solid) loss against step, one colour per series; optional horizontal reference lines. */
export function lossCurvesFigure(series: LossSeries[], { title = "Loss", references = [] as { y: number; label: string }[] } = {}): Figure {
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  const data: Record<string, unknown>[] = [];
  series.forEach((s, i) => {
    const colour = colours[i % colours.length];
    const steps = s.points.map((p) => p.step);
    for (const split of ["train", "val"] as const) {
      if (s.points.every((p) => p[split] === undefined)) continue;
      data.push({
        x: steps,
        y: s.points.map((p) => p[split] ?? null),
        name: `${s.name} ${split}`,
        mode: "lines+markers",
        line: { color: colour, dash: split === "train" ? "dash" : "solid" },
      });
    }
  });
  const shapes = references.map((r) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: r.y, y1: r.y, line: { color: "#888", dash: "dot", width: 1 } }));
  const annotations = references.map((r) => ({ xref: "paper", x: 1, y: r.y, text: r.label, showarrow: false, xanchor: "right", yanchor: "bottom", font: { color: "#555" } }));
  return {
    data,
    layout: { title: { text: title }, xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss (nats)" } }, shapes, annotations },
  };
}
