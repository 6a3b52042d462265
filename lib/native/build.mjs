#!/usr/bin/env node
// Builds the native CPU kernels (cpu-kernels.cc) into prebuilt/<platform>-<arch>/cpu-kernels.node with g++ and Node's
// headers. The result is committed, so installing the project needs no compiler; run this after editing the source:
//   node lib/native/build.mjs
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const include = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node"].find((d) => existsSync(join(d, "node_api.h")));
if (!include) {
  console.error("Node's headers (node_api.h) were not found: install Node.js with its headers (Debian: nodejs, libnode-dev).");
  process.exit(1);
}
const outDir = join(here, "prebuilt", `${process.platform}-${process.arch}`);
mkdirSync(outDir, { recursive: true });
const out = join(outDir, "cpu-kernels.node");
const args = [
  "-O3", "-std=c++17", "-fPIC", "-shared", "-pthread", "-fvisibility=hidden",
  "-ffp-contract=off", // fused multiply-adds only where the source asks for them (the matmul): the rest rounds as written
  "-fno-math-errno", // sqrt need not set errno (nothing reads it), so its loops are vectorised: the same, correctly rounded bits
  "-s", // libstdc++ stays dynamic: a static one would need the newest glibc
  `-I${include}`, join(here, "cpu-kernels.cc"), "-o", `${out}.tmp`,
];
execFileSync(process.env.CXX ?? "g++", args, { stdio: "inherit" });
renameSync(`${out}.tmp`, out); // whole or not at all
console.log(`built ${out}`);
