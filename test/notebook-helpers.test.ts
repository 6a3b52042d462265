import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { isFastMode, lessonSettings, lossCurvesFigure, plotHtml, tableHtml } from "@build-gpt/lib";

test("a plot carries plotly.js inline and loads nothing from the network", () => {
  const html = plotHtml({ data: [{ x: [1, 2], y: [3, 4] }] });
  const plotly = readFileSync(require.resolve("plotly.js-dist/plotly.js"), "utf8");
  assert.ok(html.includes(plotly), "plotly.js from node_modules is inlined whole");
  assert.ok(!/<script[^>]+src=/.test(html), "no script is loaded from elsewhere");
  const light = plotHtml({ data: [{ x: [1], y: [1] }] }, { includePlotly: false });
  assert.ok(light.length < 2000 && light.includes("Plotly.newPlot"));
});

test("figure data cannot close the script tag", () => {
  const html = plotHtml({ data: [{ name: "</script><b>x" }] }, { includePlotly: false });
  assert.ok(!html.includes("</script><b>"));
});

test("loss curves: a train and a val trace per series, and reference lines", () => {
  const fig = lossCurvesFigure(
    [{ name: "bigram", points: [{ step: 0, train: 4.6, val: 4.6 }, { step: 300, train: 2.5, val: 2.5 }] }],
    { references: [{ y: 2.49, label: "lecture" }] },
  );
  assert.deepEqual(fig.data.map((d) => d.name), ["bigram train", "bigram val"]);
  assert.equal((fig.layout!.shapes as unknown[]).length, 1);
});

test("tables render columns, rows and escaped text", () => {
  const html = tableHtml({ columns: ["step", "loss"], values: [[0, 4.123456], [1, "<b>"]] });
  assert.ok(html.includes("<th style=\"text-align:right\">loss</th>"));
  assert.ok(html.includes("4.1235"));
  assert.ok(html.includes("&lt;b&gt;"));
});

test("fast mode shrinks the training budget and leaves other settings alone", () => {
  const full = { batchSize: 32, maxIters: 3000, evalInterval: 300, evalIters: 200 };
  const saved = process.env.GPT_FAST;
  try {
    delete process.env.GPT_FAST;
    assert.equal(isFastMode(), false);
    assert.deepEqual(lessonSettings(full), { ...full, fast: false });
    process.env.GPT_FAST = "1";
    const fast = lessonSettings(full);
    assert.equal(fast.batchSize, 32);
    assert.ok(fast.maxIters < full.maxIters && fast.evalIters < full.evalIters && fast.fast);
  } finally {
    if (saved === undefined) delete process.env.GPT_FAST;
    else process.env.GPT_FAST = saved;
  }
});

test("lessons are committed without outputs and use the project's tslab kernel", () => {
  const dir = path.resolve(__dirname, "..", "..", "notebooks");
  const lessons = readdirSync(dir).filter((f) => f.endsWith(".ipynb"));
  assert.ok(lessons.length >= 2);
  for (const file of lessons) {
    const nb = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
    assert.equal(nb.metadata.kernelspec.name, "tslab", file);
    for (const cell of nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")) {
      assert.deepEqual(cell.outputs, [], `${file} has outputs: run npm run clean-notebooks`);
      assert.equal(cell.execution_count, null, file);
    }
  }
});
