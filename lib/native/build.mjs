#!/usr/bin/env node
// Builds the native CPU kernels (src/, listed in sources.cjs) into one Node-API module, stamped with the sha256 of
// its sources, with a C++ compiler and Node's headers:
//   node lib/native/build.mjs            into prebuilt/<platform>-<arch>/ (committed for linux-x64: run it after
//                                        editing src/, or the stamp test fails)
//   node lib/native/build.mjs --local    into build/<platform>-<arch>/ (git-ignored), as npm install does where no
//                                        prebuilt module fits
//   node lib/native/build.mjs --arch arm64 --out FILE    for another architecture (with CXX set to a cross compiler)
// CXX names the compiler (default: g++, else c++ or clang++).
import { execFile, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

const require = createRequire(import.meta.url);
const sources = require("./sources.cjs");
const run = promisify(execFile);

/** The C++ compiler to use: CXX, or the first of g++, c++ and clang++ that runs; undefined when there is none. */
export function findCompiler() {
  if (process.env.CXX) return process.env.CXX;
  // On macOS, /usr/bin/c++ without the command-line developer tools opens an installer dialog instead of compiling.
  if (process.platform === "darwin" && spawnSync("xcode-select", ["-p"]).status !== 0) return undefined;
  const candidates = process.platform === "darwin" ? ["c++", "clang++"] : ["g++", "c++", "clang++"];
  return candidates.find((cxx) => spawnSync(cxx, ["--version"], { stdio: "ignore" }).status === 0);
}

/** The folder that holds Node's node_api.h; undefined when it is not found. */
export function findHeaders() {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"), // official builds, Homebrew, nvm
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, "include", "node"),
    "/usr/include/node", // Debian's nodejs
    "/usr/local/include/node",
  ];
  return candidates.find((dir) => dir && existsSync(join(dir, "node_api.h")));
}

/** Runs `tasks` (functions returning promises), at most `limit` at a time. */
async function inParallel(tasks, limit) {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/**
 * Compiles `units` (sources.units) into objects in `dir`, in parallel, with the build's flags; `args`: more flags.
 * Returns the objects' paths, in the units' order. Throws with the compiler's output when one fails.
 */
export async function compileObjects({ units, cxx, dir, args = [] }) {
  const objects = units.map(({ source }, i) => join(dir, `${i}-${basename(source).replace(/\.cc$/, "")}.o`));
  const tasks = units.map(({ source, defines }, i) => () => {
    const flags = [...sources.FLAGS, ...args, ...defines.map((d) => `-D${d}`), "-c", resolve(sources.SRC, source), "-o", objects[i]];
    return runCompiler(cxx, flags, `${source}${defines.length ? ` (${defines.join(" ")})` : ""}`);
  });
  await inParallel(tasks, availableParallelism());
  return objects;
}

/**
 * Compiles every unit for `arch` and links them into `out`, whole or not at all (through a temporary file). Throws
 * with the compiler's output when a step fails.
 */
export async function build({ out, arch = process.arch, platform = process.platform, cxx = findCompiler(), include = findHeaders() }) {
  if (!cxx) throw new Error("no C++ compiler found: install g++ or clang++, or set CXX");
  if (!include) throw new Error("Node's headers (node_api.h) were not found: install Node.js with its headers (Debian: libnode-dev), or set npm's nodedir");
  const stamp = sources.sourceSha256();
  const dir = mkdtempSync(join(tmpdir(), "gpt-native-"));
  try {
    const objects = await compileObjects({ units: sources.units(arch), cxx, dir, args: [`-I${include}`, `-DGPT_SOURCE_SHA256="${stamp}"`] });
    // libstdc++ stays dynamic (a static one would need the newest glibc); macOS resolves Node's functions at load.
    const link = platform === "darwin" ? ["-undefined", "dynamic_lookup"] : ["-s"];
    mkdirSync(dirname(out), { recursive: true });
    await runCompiler(cxx, ["-shared", "-pthread", ...link, ...objects, "-o", `${out}.tmp`], "the link");
    renameSync(`${out}.tmp`, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${out}.tmp`, { force: true });
  }
  return { out, stamp };
}

/** Runs the compiler `cxx` (which may carry options, as in "ccache g++") on `args`; throws with its output. */
export async function runCompiler(cxx, args, what) {
  const [command, ...prefix] = cxx.trim().split(/\s+/);
  try {
    await run(command, [...prefix, ...args], { maxBuffer: 64 << 20 });
  } catch (err) {
    const output = [err.stderr, err.stdout].filter(Boolean).join("\n").trim();
    throw new Error(`${command} failed on ${what}:\n${output || err.message}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { local: { type: "boolean" }, arch: { type: "string" }, out: { type: "string" } } });
  const arch = values.arch ?? process.arch;
  const out = values.out ? resolve(values.out) : values.local ? sources.localBuildPath(process.platform, arch) : sources.prebuiltPath(process.platform, arch);
  try {
    const { stamp } = await build({ out, arch });
    console.log(`built ${out} (sources ${stamp.slice(0, 12)})`);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
