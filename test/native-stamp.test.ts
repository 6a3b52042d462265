/**
 * A committed native module is built from the sources in this checkout: build.mjs stamps the sha256 of lib/native/src
 * (and of how it is compiled, lib/native/sources.cjs) into the module, and these tests recompute that hash with the
 * same function. An edit of the C++ without a rebuild fails here, not silently in training.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

interface NativeSources {
  SRC: string;
  sourceSha256(): string;
  prebuiltPath(platform?: string, arch?: string): string;
  units(arch: string): { source: string; defines: string[] }[];
}

const sources = require("@build-gpt/lib/native/sources.cjs") as NativeSources;
const prebuiltDir = path.dirname(path.dirname(sources.prebuiltPath()));
const platforms = readdirSync(prebuiltDir).filter((name) => existsSync(path.join(prebuiltDir, name, "cpu-kernels.node")));

/** The stamp in a module's file (bindings.cc writes it after a marker), read without loading the module. */
function stampIn(file: string): string | undefined {
  return /gpt-native-sources-sha256:([0-9a-f]{64})/.exec(readFileSync(file).toString("latin1"))?.[1];
}

test("every committed native module was built from the sources in this checkout", () => {
  assert.ok(platforms.length > 0, `no module in ${prebuiltDir}`);
  const stamp = sources.sourceSha256();
  for (const platform of platforms) {
    const file = path.join(prebuiltDir, platform, "cpu-kernels.node");
    const built = stampIn(file);
    assert.ok(built, `lib/native/prebuilt/${platform}/cpu-kernels.node has no stamp: rebuild with node lib/native/build.mjs`);
    assert.equal(built, stamp, `lib/native/prebuilt/${platform}/cpu-kernels.node was built from other sources than lib/native/src: rebuild with node lib/native/build.mjs (and commit it)`);
    // The module of this platform, loaded, reports the stamp its file carries (the one the loader checks).
    if (platform === `${process.platform}-${process.arch}`) assert.equal((require(file) as { sourceSha256: string }).sourceSha256, built);
  }
});

test("the build compiles every C++ file of lib/native/src, the x86 kernels for x64 alone", () => {
  const files = readdirSync(sources.SRC).filter((name) => name.endsWith(".cc")).sort();
  const x64 = sources.units("x64");
  assert.deepEqual([...new Set(x64.map((u) => u.source))].sort(), files);
  const arm64 = sources.units("arm64");
  assert.ok(arm64.every((u) => u.defines.length === 0 && !/avx/.test(u.source)), "arm64: the portable set only");
  assert.deepEqual([...new Set(arm64.map((u) => u.source))].sort(), files.filter((name) => !/avx/.test(name)));
});
