#!/usr/bin/env node
// npm test: every suite, in order, each as its own npm script; stops at the first that fails, with its exit code.
// At the end (also after a failure) a table of each suite's wall-clock time. docs/testing.md says what each proves.
// `npm test -- notebooks browser` runs only the named suites (the build always runs first).
import { spawn } from "node:child_process";
import { root } from "./lesson-env.mjs";

/** [name, npm script, what it checks in a few words] */
const SUITES = [
  ["build", "build:test", "compile lib/ and test/"],
  ["unit", "test:unit", "the library's unit tests"],
  ["webgpu", "test:webgpu", "the GPU engine on SwiftShader"],
  ["interrupt", "test:interrupt", "a kernel interrupted mid-training"],
  ["start", "test:start", "npm install && npm start from a fresh clone"],
  ["notebooks", "test:notebooks", "every lesson with its solutions"],
  ["browser", "test:browser", "every lesson in JupyterLab in Chromium"],
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !SUITES.some(([name]) => name === w));
if (unknown.length) {
  console.error(`npm test: no suite named ${unknown.join(", ")}; the suites: ${SUITES.map(([n]) => n).join(", ")}`);
  process.exit(2);
}
const plan = SUITES.filter(([name], i) => i === 0 || !wanted.length || wanted.includes(name));

let child;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    // the suite stops what it started (each handles the signal), then this exits with its status
    child?.kill(signal);
  });
}

function runScript(script) {
  return new Promise((resolve) => {
    child = spawn("npm", ["run", "--silent", script], { cwd: root, stdio: "inherit" });
    child.on("error", (error) => resolve({ code: 1, error }));
    child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), signal }));
  });
}

const minSec = (s) => `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
const rows = [];
const t0 = Date.now();
let status = 0;
for (const [name, script, what] of plan) {
  console.log(`\n=== npm test: ${name} (npm run ${script}) ===`);
  const t1 = Date.now();
  const { code, error } = await runScript(script);
  const seconds = (Date.now() - t1) / 1000;
  rows.push({ name, what, seconds, result: code === 0 ? "ok" : `FAILED (exit ${code})` });
  if (error) console.error(`npm test: could not run npm run ${script}: ${error.message}`);
  if (code !== 0) {
    status = code;
    break;
  }
}
const total = (Date.now() - t0) / 1000;
const skipped = plan.slice(rows.length).map(([name]) => name);
const width = Math.max(...rows.map((r) => r.name.length), 5);
console.log(`\nnpm test: each suite's time (wall clock)`);
for (const r of rows) {
  const share = total > 0 ? `${((100 * r.seconds) / total).toFixed(0).padStart(3)} %` : "";
  console.log(`  ${r.name.padEnd(width)}  ${minSec(r.seconds).padStart(12)}  ${share}  ${r.result}  ${r.what}`);
}
console.log(`  ${"total".padEnd(width)}  ${minSec(total).padStart(12)}`);
if (skipped.length) console.log(`  not run after the failure: ${skipped.join(", ")}`);
process.exit(status);
