"use strict";
// The native kernels' sources, how they are compiled, where the modules live, and the stamp that ties a module to its
// sources. build.mjs compiles with these lists and flags and stamps the module with sourceSha256(); the loader
// (lib/src/engine/native-kernels.ts) and test/native-stamp.test.ts compare a module's stamp with the checkout's.
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const SRC = path.join(__dirname, "src");

// Compiled for each instruction set (src/target.h): with -DGPT_ISA_AVX2 on x86-64, and for the portable set.
const PER_ISA = ["adamw.cc", "attention.cc", "elementwise.cc", "matmul.cc", "rows.cc", "table.cc"];
// Compiled in one set only: the x86 micro-kernels in the AVX2 set, the portable one in the portable set.
const AVX2_ONLY = ["microkernel-avx2.cc", "microkernel-avx512.cc"];
const PORTABLE_ONLY = ["microkernel-portable.cc"];
// Compiled once, for the baseline: no arithmetic that depends on the instruction set.
const SHARED = ["bindings.cc", "copies.cc", "isa.cc", "napi-args.cc", "pool.cc"];

// Compiler flags (GCC and Clang). Every file gets them; the link adds the platform's (build.mjs).
const FLAGS = [
  "-O3", "-std=c++17", "-fPIC", "-pthread", "-fvisibility=hidden",
  "-ffp-contract=off", // fused multiply-adds only where the source asks for them (the matmul): the rest rounds as written
  "-fno-math-errno", // sqrt need not set errno (nothing reads it), so its loops are vectorised: the same, correctly rounded bits
];

/** Whether the AVX2 and AVX-512 kernels are built for an architecture (Node's names: x64, arm64, ...). */
function hasX86Kernels(arch) {
  return arch === "x64";
}

/** The compile units for an architecture: each source with the defines it is compiled with. */
function units(arch) {
  const list = [];
  for (const source of [...PER_ISA, ...PORTABLE_ONLY]) list.push({ source, defines: [] });
  if (hasX86Kernels(arch)) for (const source of [...PER_ISA, ...AVX2_ONLY]) list.push({ source, defines: ["GPT_ISA_AVX2"] });
  for (const source of SHARED) list.push({ source, defines: [] });
  return list;
}

/**
 * The stamp: sha256 over every file in src/, sorted by name, each as its name, its length and its text (line ends
 * as LF), then the compile lists and flags above. A module built from other sources, or compiled otherwise, has
 * another stamp.
 */
function sourceSha256() {
  const hash = crypto.createHash("sha256");
  for (const name of fs.readdirSync(SRC).sort()) {
    const text = fs.readFileSync(path.join(SRC, name), "utf8").replace(/\r\n/g, "\n");
    hash.update(`${name}\n${Buffer.byteLength(text)}\n${text}`);
  }
  hash.update(JSON.stringify({ PER_ISA, AVX2_ONLY, PORTABLE_ONLY, SHARED, FLAGS }));
  return hash.digest("hex");
}

/** The committed module for a platform. */
function prebuiltPath(platform = process.platform, arch = process.arch) {
  return path.join(__dirname, "prebuilt", `${platform}-${arch}`, "cpu-kernels.node");
}

/** Where npm install builds the module when no prebuilt one fits (git-ignored), and says why it did not. */
function localBuildDir(platform = process.platform, arch = process.arch) {
  return path.join(__dirname, "build", `${platform}-${arch}`);
}

function localBuildPath(platform = process.platform, arch = process.arch) {
  return path.join(localBuildDir(platform, arch), "cpu-kernels.node");
}

/** One line, written by install.mjs where it built no module: why not. */
function localStatusPath(platform = process.platform, arch = process.arch) {
  return path.join(localBuildDir(platform, arch), "status.txt");
}

module.exports = { SRC, FLAGS, hasX86Kernels, units, sourceSha256, prebuiltPath, localBuildDir, localBuildPath, localStatusPath };
