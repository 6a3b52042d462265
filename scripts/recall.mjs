#!/usr/bin/env node
// npm run recall: each lesson as a recall copy in out/recall/ (git-ignored) — its headings and code kept, the prose and
// every output removed — for rebuilding a lesson from memory: read the headings, recall what each code cell does and
// why, then check against the lesson.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./lesson-env.mjs";

const source = (cell) => (Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "");

/** A lesson's recall copy: markdown cells cut down to their headings (dropped when they have none), code cells kept without outputs. */
export function recallCopy(notebook) {
  const cells = [];
  for (const cell of notebook.cells) {
    if (cell.cell_type === "markdown") {
      const headings = source(cell).split("\n").filter((l) => /^#{1,6}\s/.test(l));
      if (headings.length) cells.push({ ...cell, source: headings.join("\n\n") });
    } else if (cell.cell_type === "code") {
      cells.push({ ...cell, outputs: [], execution_count: null });
    }
  }
  return { ...notebook, cells };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = join(root, "notebooks");
  const out = join(root, "out", "recall");
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(dir).filter((f) => /^\d\d-.+\.ipynb$/.test(f)).sort()) {
    writeFileSync(join(out, file), JSON.stringify(recallCopy(JSON.parse(readFileSync(join(dir, file), "utf8"))), null, 1) + "\n");
    console.log(`out/recall/${file}`);
  }
}
