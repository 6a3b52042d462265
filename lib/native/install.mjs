#!/usr/bin/env node
// npm install's step for the native CPU kernels (the `install` script of lib/package.json). Where the prebuilt module
// for this platform loads, or a module built here from these sources does, there is nothing to do. Otherwise, with a
// C++ compiler and Node's headers, it builds the kernels from source into build/<platform>-<arch>/ (git-ignored); the
// portable kernels need nothing of the CPU. Where it cannot, it writes why, in one line, to status.txt there: the
// loader (lib/src/engine/native-kernels.ts) says so in the backend line, and the WebAssembly kernels run. It never
// fails the install.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build, findCompiler, findHeaders } from "./build.mjs";

const require = createRequire(import.meta.url);
const sources = require("./sources.cjs");
const platform = `${process.platform}-${process.arch}`;

/** The module at `file` when it loads, with its stamp; undefined when it does not. */
function load(file) {
  try {
    return existsSync(file) ? require(file) : undefined;
  } catch {
    return undefined;
  }
}

/** The stamp of the module at `file`, read in a fresh process (this one may hold an older module of that name). */
function stampOf(file) {
  const run = spawnSync(process.execPath, ["-e", "console.log(require(process.argv[1]).sourceSha256)", file], { encoding: "utf8" });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** Records why no module was built (the loader reads it), and says so. */
function notBuilt(reason) {
  mkdirSync(sources.localBuildDir(), { recursive: true });
  rmSync(sources.localBuildPath(), { force: true });
  writeFileSync(sources.localStatusPath(), `${reason}\n`);
  console.log(`native CPU kernels not built for ${platform}: ${reason}; the WebAssembly kernels will run`);
}

async function main() {
  if (load(sources.prebuiltPath())) return console.log(`native CPU kernels: the prebuilt module for ${platform}`);
  const stamp = sources.sourceSha256();
  if (load(sources.localBuildPath())?.sourceSha256 === stamp) return console.log(`native CPU kernels: built here for ${platform}, up to date`);
  if (process.platform === "win32") return notBuilt("the build takes GCC or Clang flags, and Windows is not set up for them");
  const cxx = findCompiler();
  if (!cxx) return notBuilt("no C++ compiler found: install g++ or clang++ (on macOS, the command-line developer tools) or set CXX, then run npm install again");
  const include = findHeaders();
  if (!include) return notBuilt("Node's headers (node_api.h) were not found: install them (Debian: libnode-dev), then run npm install again");
  const log = join(sources.localBuildDir(), "build.log");
  try {
    console.log(`native CPU kernels: building for ${platform} with ${cxx} (a minute or two)`);
    await build({ out: sources.localBuildPath(), cxx, include });
  } catch (err) {
    mkdirSync(sources.localBuildDir(), { recursive: true });
    writeFileSync(log, `${err.message}\n`);
    return notBuilt(`the build failed: lib/native/build/${platform}/build.log says why`);
  }
  if (stampOf(sources.localBuildPath()) !== stamp) return notBuilt("the module built here does not load");
  rmSync(sources.localStatusPath(), { force: true });
  rmSync(log, { force: true });
  console.log(`native CPU kernels: built ${sources.localBuildPath()}`);
}

main().catch((err) => console.log(`native CPU kernels not built for ${platform}: ${err.message.split("\n")[0]}`));
