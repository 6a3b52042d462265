/**
 * train()'s progress in a notebook: one line updated in place (step/total, latest train and val loss, tokens per
 * second, time left) and the loss curves redrawn at each evaluation, in one output that ends as the final plot.
 * Outside a notebook it is the terminal bar, so the same call works in a script.
 */
import { inNotebook, newTslabDisplay } from "../notebook/display";
import { loadPlotly, lossCurvesFigure, plotHtml } from "../notebook/plot";
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
  let chart: ReturnType<typeof newTslabDisplay> | undefined;
  let plotted = 0;
  const draw = (history: readonly EvalPoint[]) => {
    if (!chart) {
      loadPlotly(); // its own output, once per kernel: the chart is redrawn without it
      // HTML, not the plotly MIME bundle: JupyterLab's plotly renderer draws a bundle once and ignores its updates
      // (measured: the live chart stayed at step 0 in JupyterLab 4.4 and 4.6), so a redrawn chart stays HTML
      chart = newTslabDisplay();
    }
    chart.html(plotHtml(figure(history), { includePlotly: false }));
    plotted = history.length;
  };
  return {
    update(s, history) {
      if (lineThrottle.ready()) line.text(progressLine(s, label));
      if (plot && history.length > plotted && plotThrottle.ready()) draw(history);
    },
    end(s, history) {
      line.text(progressLine(s, label));
      if (plot && history.length > 0) draw(history);
    },
  };
}

function lossFigure({ label = "model", title, references = [] }: LiveProgressOptions) {
  return (history: readonly EvalPoint[]) =>
    lossCurvesFigure([{ name: label, points: [...history] }], { title: title ?? `${label}: loss during training`, references });
}
