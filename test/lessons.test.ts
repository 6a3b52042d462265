// The committed lessons keep the course's rhythm and weight (scripts/lesson-stats.mjs measures them), and the recall
// copies keep headings and code only.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";

const scripts = path.resolve(__dirname, "..", "..", "scripts");
// The scripts are ES modules; a CommonJS test reaches them through a dynamic import that TypeScript leaves as it is.
const importModule = new Function("specifier", "return import(specifier)") as (s: string) => Promise<Record<string, unknown>>;

test("the lessons keep the rules: 7 lessons, short cells, bounded prose, links into the video", async () => {
  const { measureLessons, problems } = (await importModule(path.join(scripts, "lesson-stats.mjs"))) as {
    measureLessons: () => { lesson: string }[]; problems: (l: unknown[]) => string[];
  };
  const lessons = measureLessons();
  assert.deepEqual(problems(lessons), [], "npm run lesson-stats shows the measures");
});

test("lesson-stats counts what it says: long cells except a class the learner writes, words, video links", async () => {
  const { problems } = (await importModule(path.join(scripts, "lesson-stats.mjs"))) as { problems: (l: unknown[]) => string[] };
  const lesson = (name: string, over: Record<string, number> = {}) => ({ lesson: name, cells: 10, words: 1000, longestMarkdownCell: 100, longCodeCells: 0, videoLinks: 3, ...over });
  const seven = ["01-a", "02-b", "03-c", "04-d", "05-e", "06-f", "07-g"].map((n) => lesson(`${n}.ipynb`));
  assert.deepEqual(problems(seven), []);
  assert.match(problems(seven.slice(0, 6)).join(), /6 lessons, at least 7/);
  assert.match(problems([...seven.slice(0, 5), lesson("06-f.ipynb", { words: 2500 }), lesson("07-g.ipynb", { words: 1600 })]).join(), /4100 words in lessons 6 and 7, at most 4000/);
  assert.match(problems(seven.map((l, i) => (i === 2 ? { ...l, videoLinks: 2, longestMarkdownCell: 401 } : l))).join("\n"), /03-c.ipynb: a markdown cell of 401 words[\s\S]*03-c.ipynb: 2 links into the video/);
  assert.match(problems(seven.map((l) => ({ ...l, longCodeCells: 1 }))).join(), /7 code cells over 15 lines/);
});

test("a recall copy keeps the headings and the code, and drops the prose and the outputs", async () => {
  const { recallCopy } = (await importModule(path.join(scripts, "recall.mjs"))) as { recallCopy: (nb: unknown) => { cells: { cell_type: string; source: string; outputs?: unknown[] }[] } };
  const copy = recallCopy({
    cells: [
      { cell_type: "markdown", source: "# Lesson 9\n\nSome prose.\n\n## A section\n\nMore prose." },
      { cell_type: "markdown", source: "Only prose." },
      { cell_type: "code", source: "const x = 1;", outputs: [{ text: "1" }], execution_count: 3 },
    ],
  });
  assert.deepEqual(copy.cells.map((c) => [c.cell_type, c.source, c.outputs?.length]), [["markdown", "# Lesson 9\n\n## A section", undefined], ["code", "const x = 1;", 0]]);
});
