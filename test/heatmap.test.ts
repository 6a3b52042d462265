import { test } from "node:test";
import assert from "node:assert/strict";
import { attentionFigure, heatmapFigure, plotHtml, visibleChar } from "@build-gpt/lib/internal";

const lowerTriangle = (n: number) => Array.from({ length: n }, (_, t) => Array.from({ length: n }, (_, s) => (s <= t ? 1 / (t + 1) : 0)));

test("a heatmap reads like a matrix: row 0 on top, one cell per value, hover shows the value", () => {
  const fig = heatmapFigure([{ z: lowerTriangle(3), title: "wei" }], { xTitle: "s", yTitle: "t", showValues: true });
  const [trace] = fig.data;
  assert.equal(trace.type, "heatmap");
  assert.deepEqual(trace.z, lowerTriangle(3));
  assert.deepEqual(trace.x, [0, 1, 2]);
  assert.equal((fig.layout!.yaxis as Record<string, unknown>).autorange, "reversed");
  assert.deepEqual((fig.layout!.xaxis as Record<string, unknown>).ticktext, ["0", "1", "2"]);
  assert.match(String(trace.hovertemplate), /%\{z:\.3f\}/);
  assert.equal(trace.texttemplate, "%{z:.2f}");
  assert.deepEqual([trace.zmin, trace.zmax], [0, 1]);
});

test("attention heatmaps: characters on both axes, repeated characters kept apart, panels side by side", () => {
  const tokens = [..."hello w"];
  const weights = lowerTriangle(tokens.length);
  const fig = attentionFigure([
    { weights, tokens, title: "before training" },
    { weights, tokens, title: "after training" },
  ]);
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data.map((d) => [d.xaxis, d.yaxis]), [["x", "y"], ["x2", "y2"]]);
  assert.deepEqual(fig.data.map((d) => d.showscale), [false, true]); // one colour bar for both
  const xaxis = fig.layout!.xaxis2 as Record<string, unknown>;
  assert.deepEqual(xaxis.ticktext, ["h", "e", "l", "l", "o", "␣", "w"]);
  assert.deepEqual(xaxis.tickvals, [0, 1, 2, 3, 4, 5, 6]); // the two l's are two columns
  const [d0, d1] = [(fig.layout!.xaxis as { domain: number[] }).domain, xaxis.domain as number[]];
  assert.ok(d0[1] < d1[0], "the panels do not overlap");
  const text = fig.data[0].text as string[][];
  assert.equal(text[3][2], "'l' (position 3) ← 'l' (position 2)");
  assert.deepEqual((fig.layout!.annotations as { text: string }[]).map((a) => a.text), ["before training", "after training"]);
  assert.ok(plotHtml(fig, { includePlotly: false }).includes("Plotly.newPlot"));
});

test("space and newline are visible as tick labels; mismatched labels are an error", () => {
  assert.deepEqual([..." \na"].map(visibleChar), ["␣", "\\n", "a"]);
  assert.throws(() => heatmapFigure([{ z: lowerTriangle(2), xLabels: ["a"] }]), /2×2 values but 2 row and 1 column labels/);
});

test("a heatmap leaves room for its axis titles and panel titles (showPlot's default margins clip them)", () => {
  const fig = heatmapFigure([{ z: lowerTriangle(3), title: "wei" }], { title: "T", xTitle: "from position s", yTitle: "token t" });
  const margin = fig.layout!.margin as { l: number; b: number; t: number };
  assert.ok(margin.l >= 90 && margin.b >= 80, `margins ${JSON.stringify(margin)}`);
  assert.ok(margin.t >= 90, "the figure's title and the panel titles both fit above the panels");
  assert.equal((fig.layout!.xaxis as Record<string, unknown>).automargin, true);
  assert.equal((fig.layout!.yaxis as Record<string, unknown>).automargin, true);
});
