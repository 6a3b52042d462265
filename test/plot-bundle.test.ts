import { test } from "node:test";
import assert from "node:assert/strict";
import { plotBundle } from "@build-gpt/lib/internal";

test("a figure's MIME bundle: plotly JSON for JupyterLab's renderer, the HTML fallback, a line of text", () => {
  const bundle = plotBundle({ data: [{ x: [1, 2], y: Float32Array.from([3, 4]) }], layout: { title: { text: "loss" } } }, { includePlotly: false });
  const json = bundle["application/vnd.plotly.v1+json"] as { data: { y: unknown }[]; layout: { title: unknown; height: number } };
  assert.deepEqual(json.data[0].y, [3, 4]); // a typed array arrives as a plain array
  assert.deepEqual(json.layout.title, { text: "loss" });
  assert.equal(json.layout.height, 420);
  assert.ok(String(bundle["text/html"]).includes("Plotly.newPlot"));
  assert.ok(!String(bundle["text/html"]).includes("plotly.js v")); // no inlined plotly.js when not asked
  assert.equal(bundle["text/plain"], "<plotly figure: loss>");
});
