/**
 * Heatmaps of matrices as plotly figures: the averaging weights of Lesson 3, the attention weights of a head over a
 * line of text. Rows run top to bottom as in a printed matrix; hovering a cell shows its row, column and value.
 * Several panels (before / after training, one per head) sit side by side on one colour scale.
 */
import type { Figure } from "./plot";

/** One matrix to draw. */
export interface HeatmapPanel {
  /** The values, row by row: z[i][j] is row i, column j. */
  z: number[][];
  /** The panel's title, above it. */
  title?: string;
  /** Tick labels of the columns and the rows; default 0, 1, 2, … */
  xLabels?: string[];
  yLabels?: string[];
}

export interface HeatmapOptions {
  /** The figure's title. */
  title?: string;
  /** Axis titles, shared by every panel. */
  xTitle?: string;
  yTitle?: string;
  /** The colour scale's range; default: the smallest and largest value of all panels. */
  zmin?: number;
  zmax?: number;
  /** A plotly colour scale: a name ("Viridis") or [fraction, colour] stops. Default: white (low) to dark blue (high). */
  colorscale?: string | [number, string][];
  /** Write each cell's value in the cell (for small matrices). Default false. */
  showValues?: boolean;
  /** What hovering calls the value. Default "value". */
  valueName?: string;
}

/** A character as a tick label: space and newline made visible, as in Lesson 1. */
export function visibleChar(c: string): string {
  return c === "\n" ? "\\n" : c === " " ? "␣" : c === "\t" ? "\\t" : c;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** White for 0, so masked weights disappear; dark blue for the largest (matplotlib's Blues). */
const WHITE_TO_BLUE: [number, string][] = [[0, "#ffffff"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1, "#08306b"]];

/**
 * One heatmap per panel, side by side, sharing one colour scale (its bar beside the last panel). Cells are placed at
 * integer positions and labelled with tick text, so repeated labels (the two `e`s of a word) stay separate cells.
 */
export function heatmapFigure(panels: HeatmapPanel[], options: HeatmapOptions = {}): Figure {
  if (panels.length === 0) throw new Error("heatmapFigure needs at least one panel.");
  const { title, xTitle, yTitle, colorscale = WHITE_TO_BLUE, showValues = false, valueName = "value" } = options;
  const all = panels.flatMap((p) => p.z.flat());
  const zmin = options.zmin ?? Math.min(...all);
  const zmax = options.zmax ?? Math.max(...all);
  const gap = 0.08;
  const width = (1 - gap * (panels.length - 1)) / panels.length;
  const data: Record<string, unknown>[] = [];
  // Room for the tick labels and the axis titles beside them (showPlot's default margins clip them in the classic
  // Notebook), and above the panels for their titles under the figure's title. automargin grows these if needed.
  const margin = { l: yTitle ? 90 : 60, b: xTitle ? 80 : 50, t: (title ? 60 : 20) + (panels.some((p) => p.title) ? 30 : 0), r: 30 };
  const layout: Record<string, unknown> = { annotations: [] as unknown[], margin };
  if (title) layout.title = { text: title };
  panels.forEach((panel, i) => {
    const rows = panel.z.length;
    const cols = panel.z[0]?.length ?? 0;
    const xLabels = panel.xLabels ?? range(cols).map(String);
    const yLabels = panel.yLabels ?? range(rows).map(String);
    if (xLabels.length !== cols || yLabels.length !== rows) {
      throw new Error(`panel ${i}: ${rows}×${cols} values but ${yLabels.length} row and ${xLabels.length} column labels.`);
    }
    const suffix = i === 0 ? "" : String(i + 1);
    const hover = panel.z.map((row, r) => row.map((_, c) => `row ${r} '${yLabels[r]}', column ${c} '${xLabels[c]}'`));
    data.push({
      type: "heatmap",
      x: range(cols),
      y: range(rows),
      z: panel.z,
      text: hover,
      hovertemplate: `%{text}<br>${valueName} %{z:.3f}<extra></extra>`,
      ...(showValues ? { texttemplate: "%{z:.2f}" } : {}),
      zmin,
      zmax,
      colorscale,
      showscale: i === panels.length - 1,
      xaxis: `x${suffix}`,
      yaxis: `y${suffix}`,
    });
    const left = i * (width + gap);
    layout[`xaxis${suffix}`] = {
      domain: [left, left + width],
      tickmode: "array",
      tickvals: range(cols),
      ticktext: xLabels,
      tickangle: 0,
      automargin: true,
      showgrid: false,
      zeroline: false,
      constrain: "domain", // square cells shrink the panel, keeping the tick labels beside the cells
      ...(xTitle ? { title: { text: xTitle } } : {}),
    };
    layout[`yaxis${suffix}`] = {
      anchor: `x${suffix}`,
      autorange: "reversed",
      automargin: true,
      showgrid: false,
      zeroline: false,
      constrain: "domain",
      scaleanchor: `x${suffix}`,
      tickmode: "array",
      tickvals: range(rows),
      ticktext: yLabels,
      ...(yTitle && i === 0 ? { title: { text: yTitle } } : {}),
    };
    if (panel.title) {
      (layout.annotations as unknown[]).push({
        text: panel.title, xref: "paper", yref: "paper", x: left + width / 2, y: 1, xanchor: "center", yanchor: "bottom",
        showarrow: false, font: { size: 14 },
      });
    }
  });
  return { data, layout };
}

/** One attention matrix over a piece of text: its (T, T) weights and the T characters (or tokens) it was computed on. */
export interface AttentionPanel {
  weights: number[][];
  tokens: string[];
  title?: string;
}

/**
 * Attention weights as heatmaps labelled with the characters on both axes: row t is the character attending (the
 * query), column s the character attended to (the key), hovering shows the weight. Weights are on a 0–1 scale.
 */
export function attentionFigure(panels: AttentionPanel[], { title = "Attention weights" }: { title?: string } = {}): Figure {
  const figure = heatmapFigure(
    panels.map(({ weights, tokens, title: panelTitle }) => {
      const labels = tokens.map(visibleChar);
      return { z: weights, xLabels: labels, yLabels: labels, title: panelTitle };
    }),
    { title, xTitle: "attended to (key)", yTitle: "attending (query)", zmin: 0, zmax: 1, valueName: "weight" },
  );
  // Hover in the lecture's words: which character takes how much from which.
  figure.data.forEach((trace, i) => {
    const labels = panels[i].tokens.map(visibleChar);
    trace.text = panels[i].weights.map((row, t) => row.map((_, s) => `'${labels[t]}' (position ${t}) ← '${labels[s]}' (position ${s})`));
  });
  return figure;
}
