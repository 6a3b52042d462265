#!/usr/bin/env node
// Strips outputs and execution counts from the lessons, so they are committed clean: readable diffs, nothing stale.
// Usage: npm run clean-notebooks [-- notebooks/NAME.ipynb ...]   (default: every notebook in notebooks/ and notebooks/solutions/)
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "notebooks");
const files = process.argv.slice(2).length
  ? process.argv.slice(2).map((f) => resolve(f))
  : ["", "solutions"].flatMap((sub) => {
      const folder = join(dir, sub);
      return existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith(".ipynb")).map((f) => join(folder, f)) : [];
    });

for (const file of files) {
  const nb = JSON.parse(readFileSync(file, "utf8"));
  let changed = false;
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    if (cell.outputs?.length || cell.execution_count !== null) changed = true;
    cell.outputs = [];
    cell.execution_count = null;
  }
  if (changed) {
    writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
    console.log(`cleaned ${file}`);
  }
}
