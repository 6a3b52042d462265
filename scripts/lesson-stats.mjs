#!/usr/bin/env node
// npm run lesson-stats: measures the committed lessons against the course's rules of rhythm and weight — how many
// lessons; each lesson's cells, words of prose, its longest markdown cell, its video links; code cells over 15 lines
// that are not a class the learner writes — and prints a table. test/lessons.test.ts holds the lessons to LIMITS.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./lesson-env.mjs";

/** The rules: at least 7 lessons; at most these many long code cells, words in all, in lessons 6 and 7, in a cell. */
export const LIMITS = { lessons: 7, longCodeCells: 3, words: 11_000, wordsLessons6and7: 4_000, wordsPerMarkdownCell: 400, videoLinksPerLesson: 3, codeLines: 15 };

const source = (cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "");
const wordsOf = (text) => text.split(/\s+/).filter(Boolean).length;
/** A code cell in which the learner writes a class may be longer (the lecture writes whole classes in one cell). */
const writesAClass = (code) => /^\s*class \w+/m.test(code);
const VIDEO = /https:\/\/www\.youtube\.com\/watch\?v=kCc8FmEb1nY&t=\d+s/g;

/** Every lesson (notebooks/NN-*.ipynb) with its measures. */
export function measureLessons(dir = join(root, "notebooks")) {
  return readdirSync(dir).filter((f) => /^\d\d-.+\.ipynb$/.test(f)).sort().map((file) => {
    const cells = JSON.parse(readFileSync(join(dir, file), "utf8")).cells;
    const markdown = cells.filter((c) => c.cell_type === "markdown").map(source);
    const code = cells.filter((c) => c.cell_type === "code").map(source);
    const long = code.filter((c) => c.trim().split("\n").length > LIMITS.codeLines && !writesAClass(c));
    return {
      lesson: file,
      cells: cells.length,
      words: markdown.reduce((n, m) => n + wordsOf(m), 0),
      longestMarkdownCell: Math.max(0, ...markdown.map(wordsOf)),
      longCodeCells: long.length,
      videoLinks: new Set(markdown.flatMap((m) => m.match(VIDEO) ?? [])).size,
    };
  });
}

/** What breaks the rules, one line each; empty when the lessons keep them. */
export function problems(lessons) {
  const out = [];
  const total = (rows, key) => rows.reduce((n, r) => n + r[key], 0);
  if (lessons.length < LIMITS.lessons) out.push(`${lessons.length} lessons, at least ${LIMITS.lessons} wanted`);
  if (total(lessons, "longCodeCells") > LIMITS.longCodeCells) out.push(`${total(lessons, "longCodeCells")} code cells over ${LIMITS.codeLines} lines (not a class the learner writes), at most ${LIMITS.longCodeCells}`);
  if (total(lessons, "words") > LIMITS.words) out.push(`${total(lessons, "words")} words of prose, at most ${LIMITS.words}`);
  const late = lessons.filter((l) => /^0[67]-/.test(l.lesson));
  if (total(late, "words") > LIMITS.wordsLessons6and7) out.push(`${total(late, "words")} words in lessons 6 and 7, at most ${LIMITS.wordsLessons6and7}`);
  for (const l of lessons) {
    if (l.longestMarkdownCell > LIMITS.wordsPerMarkdownCell) out.push(`${l.lesson}: a markdown cell of ${l.longestMarkdownCell} words, at most ${LIMITS.wordsPerMarkdownCell}`);
    if (l.videoLinks < LIMITS.videoLinksPerLesson) out.push(`${l.lesson}: ${l.videoLinks} links into the video, at least ${LIMITS.videoLinksPerLesson}`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const lessons = measureLessons();
  const columns = Object.keys(lessons[0]);
  const widths = columns.map((c) => Math.max(c.length, ...lessons.map((l) => String(l[c]).length)));
  const line = (cells) => cells.map((s, i) => String(s).padEnd(widths[i])).join("  ");
  console.log(line(columns));
  for (const l of lessons) console.log(line(columns.map((c) => l[c])));
  const sum = (key) => lessons.reduce((n, l) => n + l[key], 0);
  console.log(line(["all", sum("cells"), sum("words"), Math.max(...lessons.map((l) => l.longestMarkdownCell)), sum("longCodeCells"), sum("videoLinks")]));
  const found = problems(lessons);
  for (const p of found) console.log(`✗ ${p}`);
  if (found.length === 0) console.log("✓ every rule kept");
  process.exitCode = found.length ? 1 : 0;
}
