import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { isFastMode, lessonSettings, lossCurvesFigure, plotHtml, tableHtml } from "@build-gpt/lib/internal";

test("a plot carries plotly.js inline, packed, and loads nothing from the network", () => {
  const html = plotHtml({ data: [{ x: [1, 2], y: [3, 4] }] });
  const plotly = readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"));
  const packed = html.match(/atob\("([A-Za-z0-9+/=]+)"\)/)?.[1];
  assert.ok(packed, "plotly.js is inlined as base64");
  assert.ok(gunzipSync(Buffer.from(packed, "base64")).equals(plotly), "the minified plotly.js from node_modules, gzipped, whole");
  assert.ok(html.length < plotly.length / 2, `the HTML (${html.length} bytes) is less than half plotly.min.js`);
  assert.ok(html.includes('new DecompressionStream("gzip")'), "the page unpacks it");
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

test("fast mode shrinks the training budget (and samples val) and leaves other settings alone", () => {
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
    assert.equal(lessonSettings({ ...full, wholeVal: true }).wholeVal, false, "fast mode samples val instead of the whole val text");
  } finally {
    if (saved === undefined) delete process.env.GPT_FAST;
    else process.env.GPT_FAST = saved;
  }
});

test("lessons and their solutions are committed without outputs and use the project's tslab kernel", () => {
  const dir = path.resolve(__dirname, "..", "..", "notebooks");
  const lessons = readdirSync(dir).filter((f) => f.endsWith(".ipynb"));
  const solutionsDir = path.join(dir, "solutions");
  const solutions = existsSync(solutionsDir) ? readdirSync(solutionsDir).filter((f) => f.endsWith(".ipynb")).map((f) => path.join("solutions", f)) : [];
  assert.ok(lessons.length >= 2);
  for (const file of [...lessons, ...solutions]) {
    const nb = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
    assert.equal(nb.metadata.kernelspec.name, "tslab", file);
    for (const cell of nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")) {
      assert.deepEqual(cell.outputs, [], `${file} has outputs: run npm run clean-notebooks`);
      assert.equal(cell.execution_count, null, file);
    }
  }
});

interface Cell { cell_type: string; source: string[] | string; metadata: { exercise?: string } }
const source = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);

test("every exercise of a lesson has a reference solution, and no markdown shows a class as code", () => {
  const dir = path.resolve(__dirname, "..", "..", "notebooks");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ipynb"))) {
    const cells: Cell[] = JSON.parse(readFileSync(path.join(dir, file), "utf8")).cells;
    for (const c of cells.filter((c) => c.cell_type === "markdown")) {
      assert.ok(!/```[a-z]*\s*\n[^`]*\bclass \w+/.test(source(c)), `${file}: a markdown cell shows a class as code; write it in a code cell that runs`);
    }
    const ids = cells.filter((c) => c.cell_type === "code" && c.metadata.exercise).map((c) => c.metadata.exercise!);
    assert.equal(new Set(ids).size, ids.length, `${file}: exercise ids repeat`);
    if (ids.length === 0) continue;
    const solutionsFile = path.join(dir, "solutions", file);
    assert.ok(existsSync(solutionsFile), `${file} has exercises ${ids.join(", ")} but no solutions/${file}`);
    const solved: Cell[] = JSON.parse(readFileSync(solutionsFile, "utf8")).cells;
    const have = new Set(solved.filter((c) => c.cell_type === "code" && c.metadata.exercise).map((c) => c.metadata.exercise));
    for (const id of ids) assert.ok(have.has(id), `${file}: exercise ${id} has no solution in solutions/${file}`);
  }
});
