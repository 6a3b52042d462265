/**
 * train()'s progress in a notebook: one line updated in place (step/total, latest train and val loss, tokens per
 * second, time left) and the loss curves redrawn at each evaluation, in one output that ends as the final plot.
 * Outside a notebook it is the terminal bar, so the same call works in a script.
 */
import { bundleDisplay, inNotebook, newTslabDisplay, type MimeBundle } from "../notebook/display";
import { loadPlotly, lossCurvesFigure, plotBundle, plotHtml } from "../notebook/plot";
import type { EvalPoint } from "../train/types";
import { progressLine, type TrainProgress } from "./status";
import { terminalProgress } from "./terminal";
import { Throttle } from "./throttle";

export interface LiveProgressOptions {
  /** Names the run in the line and in the plot's legend. */
  label?: string;
  /** The plot's title; default "<label>: loss during training". */
  title?: string;
  /** Horizontal reference lines on the plot (the lecture's loss). */
  references?: { y: number; label: string }[];
  /** Draw the loss plot (default true); false: the line only. */
  plot?: boolean;
  /** Redraw the line at most this often; default 250 ms. The plot is redrawn at most once a second. */
  intervalMs?: number;
}

/**
 * `await train(model, optimizer, split, { ...settings, progress: liveProgress({ label: "bigram" }) })`.
 * Interrupted, the line says at which step, and the plot keeps the evaluations made so far.
 */
export function liveProgress(options: LiveProgressOptions = {}): TrainProgress {
  const { label, plot = true, intervalMs = 250 } = options;
  if (!inNotebook()) return terminalProgress(label);
  const line = newTslabDisplay();
  const lineThrottle = new Throttle(intervalMs);
  const plotThrottle = new Throttle(1000);
  const figure = lossFigure(options);
  let chart: ((bundle: MimeBundle) => void) | undefined;
  let plotted = 0;
  const draw = (history: readonly EvalPoint[], final = false) => {
    if (!chart) {
      loadPlotly(); // its own output, once per kernel: the chart is redrawn without it
      chart = bundleDisplay({ updatable: true });
    }
    const fig = figure(history);
    // While training: HTML, redrawn in place (JupyterLab's plotly renderer draws a bundle once and ignores its
    // updates: measured in JupyterLab 4.4 and 4.6). At the end: the full bundle, which that renderer draws by itself,
    // so the saved chart does not depend on plotly.js being on the page after a reload (windowing detaches outputs).
    chart(final ? plotBundle(fig, { includePlotly: false }) : { "text/html": plotHtml(fig, { includePlotly: false }) });
    plotted = history.length;
  };
  return {
    update(s, history) {
      if (lineThrottle.ready()) line.text(progressLine(s, label));
      if (plot && history.length > plotted && plotThrottle.ready()) draw(history);
    },
    end(s, history) {
      line.text(progressLine(s, label));
      if (plot && history.length > 0) draw(history, true);
    },
  };
}

function lossFigure({ label = "model", title, references = [] }: LiveProgressOptions) {
  return (history: readonly EvalPoint[]) =>
    lossCurvesFigure([{ name: label, points: [...history] }], { title: title ?? `${label}: loss during training`, references });
}
