#!/usr/bin/env node
// Builds the kernels with kernels-check.cc (no Node: the bindings are left out) and runs that check of each kernel
// against its reference; also links the Node module for that architecture, to show that it builds (npm run
// test:aarch64):
//   node lib/native/check/check.mjs               for AArch64 (portable kernels, NEON and fused multiply-adds from the
//                                                 compiler), cross-compiled and run under qemu-user
//   node lib/native/check/check.mjs --arch x64    for this machine; GPT_NATIVE_ISA=portable checks the portable kernels
// AArch64 needs Debian's g++-aarch64-linux-gnu and qemu-user (apt-get install g++-aarch64-linux-gnu qemu-user).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { compileObjects, findCompiler, findHeaders, runCompiler } from "../build.mjs";

const require = createRequire(import.meta.url);
const sources = require("../sources.cjs");

const { values } = parseArgs({ options: { arch: { type: "string", default: "arm64" } } });
const cross = values.arch === "arm64" && process.arch !== "arm64";
const cxx = cross ? process.env.CXX ?? "aarch64-linux-gnu-g++" : findCompiler();
const runner = cross ? ["qemu-aarch64"] : [];

function missing(command, apt) {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status !== 0 && `${command} not found (Debian: apt-get install ${apt})`;
}
const problem = !cxx ? "no C++ compiler found" : (cross && (missing(cxx.split(/\s+/)[0], "g++-aarch64-linux-gnu") || missing("qemu-aarch64", "qemu-user"))) || undefined;
if (problem) {
  console.error(`${problem}: the ${values.arch} check cannot run`);
  process.exit(1);
}

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), "gpt-native-check-"));
let status = 1;
try {
  // Every kernel unit, and the check in place of the Node-API files.
  const all = sources.units(values.arch);
  const napi = (unit) => ["bindings.cc", "napi-args.cc"].includes(unit.source);
  const units = [...all.filter((unit) => !napi(unit)), { source: fileURLToPath(new URL("kernels-check.cc", import.meta.url)), defines: [] }];
  const objects = await compileObjects({ units, cxx, dir });
  const include = findHeaders();
  if (include) {
    const bindings = await compileObjects({ units: all.filter(napi), cxx, dir: mkdtempSync(join(dir, "napi-")), args: [`-I${include}`, `-DGPT_SOURCE_SHA256="${sources.sourceSha256()}"`] });
    await runCompiler(cxx, ["-shared", "-pthread", ...objects.slice(0, -1), ...bindings, "-o", join(dir, "cpu-kernels.node")], "the module's link");
    console.log(`the Node module links for ${values.arch}`);
  }
  const program = join(dir, "kernels-check");
  // Static, so that qemu-user needs no AArch64 libraries at run time.
  await runCompiler(cxx, ["-pthread", ...(cross ? ["-static"] : []), ...objects, "-o", program], "the link");
  const built = Date.now();
  const run = spawnSync(runner[0] ?? program, [...runner.slice(1), ...(runner.length ? [program] : [])], { stdio: "inherit" });
  status = run.status ?? 1;
  console.log(`${values.arch}${cross ? " under qemu-user" : ""}: built in ${((built - started) / 1000).toFixed(0)} s, ran in ${((Date.now() - built) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(err.message);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
