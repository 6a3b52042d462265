#!/usr/bin/env node
// npm run gpu:pack — writes .gpu-pack/ (git-ignored, at most 60 MiB): what the GPU run (scripts/gpu-run.sh,
// docs/gpu.md) needs on a machine with no Node and no network, and nothing else:
//   node.xz        this Node's binary, stripped and compressed
//   app.tar.xz     the library's and the benchmark's compiled JavaScript, bench/torch_bench.py, and the node_modules
//                  files the run loads (the tfjs bundles, webgpu's index.js and dist/linux-x64/dawn.node, seedrandom,
//                  long): the rehearsal (npm run gpu:rehearse) runs from this alone, so a missing file fails it
//   debs/          the Vulkan loader's Debian package (libvulkan1) and libglvnd0, which NVIDIA's Vulkan driver loads
//   input.txt.xz   tiny Shakespeare
//   gpu-run.sh     the run script; SHA256SUMS and MANIFEST.txt (versions, files, sizes)
// .gpu-pack/resume/ is left as it is: the state a previous call returned, for the next call to continue.
// The Node binary and the Debian packages are kept from one pack to the next while they are the same.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pack = path.join(root, ".gpu-pack");
const MiB = 2 ** 20;
const PACK_LIMIT = 60 * MiB;
/** What one device call carries: the working tree, this pack included. */
const TRAVEL_LIMIT = 64 * MiB;

/** The packages the run loads, each its package.json, its main file and these files besides. */
const PACKAGES = {
  "@tensorflow/tfjs": [], "@tensorflow/tfjs-core": [], "@tensorflow/tfjs-layers": [], "@tensorflow/tfjs-converter": [],
  "@tensorflow/tfjs-data": [], "@tensorflow/tfjs-backend-cpu": [], "@tensorflow/tfjs-backend-webgl": [],
  "@tensorflow/tfjs-backend-wasm": [], "@tensorflow/tfjs-backend-webgpu": [], long: [],
  seedrandom: ["seedrandom.js", "lib/alea.js", "lib/tychei.js", "lib/xor128.js", "lib/xor4096.js", "lib/xorshift7.js", "lib/xorwow.js"],
  webgpu: ["dist/linux-x64/dawn.node"],
};
/** The Debian packages of the Vulkan loader and of the dispatch library NVIDIA's Vulkan driver links against. */
const DEBS = ["libvulkan1", "libglvnd0"];
const TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

function fail(message) {
  console.error(`gpu:pack: ${message}`);
  process.exit(1);
}

/** Runs a program; its stdout into `stdoutFile` when given, else returned. Fails with its stderr. */
function run(cmd, args, { cwd = root, stdoutFile } = {}) {
  const fd = stdoutFile ? openSync(stdoutFile, "w") : undefined;
  try {
    const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", fd ?? "pipe", "pipe"], encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.error) fail(`${cmd} did not run (${r.error.message})`);
    if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed: ${(r.stderr || "").trim().split("\n").slice(-3).join(" ")}`);
    return r.stdout;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");
const size = (file) => statSync(file).size;
const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** xz at `level` from `from` into `to`. */
function xz(from, to, level) {
  run("xz", [level, "-T0", "-c", from], { stdoutFile: to });
}

/** This Node, stripped and compressed; kept while the binary is the same. */
function packNode() {
  const target = path.join(pack, "node.xz");
  const stamp = path.join(pack, "node.xz.source");
  const source = `${process.execPath} ${size(process.execPath)} ${statSync(process.execPath).mtimeMs} ${process.version}`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, "utf8") === source) return;
  const tmp = mkdtempSync(path.join(tmpdir(), "gpu-pack-node-"));
  try {
    const binary = path.join(tmp, "node");
    if (has("strip")) run("strip", ["-o", binary, process.execPath]);
    else copyFileSync(process.execPath, binary);
    console.log(`compressing Node ${process.version} (${mib(size(binary))}; about a minute)`);
    xz(binary, target, "-9e");
    writeFileSync(stamp, source);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * A project's compiled .js files (no declarations, no source maps) from its dist/ into `to`: those of its src/ .ts
 * files only, so that what a deleted source once compiled to stays behind.
 */
function copyJs(project, to) {
  const [dist, src] = [path.join(project, "dist"), path.join(project, "src")];
  const compiled = (f) => f.endsWith(".js") && existsSync(path.join(src, path.relative(dist, f)).replace(/\.js$/, ".ts"));
  cpSync(dist, to, { recursive: true, filter: (f) => statSync(f).isDirectory() || compiled(f) });
}

/** The app: the library as node_modules/@build-gpt/lib, the benchmark's dist and torch_bench.py, the packages' files. */
function stageApp(stage) {
  const lib = path.join(stage, "node_modules", "@build-gpt", "lib");
  copyJs(path.join(root, "lib"), path.join(lib, "dist"));
  for (const f of ["package.json", "internal.js"]) copyFileSync(path.join(root, "lib", f), path.join(lib, f));
  cpSync(path.join(root, "lib", "native", "prebuilt", "linux-x64"), path.join(lib, "native", "prebuilt", "linux-x64"), { recursive: true });
  copyJs(path.join(root, "bench"), path.join(stage, "bench", "dist"));
  copyFileSync(path.join(root, "bench", "torch_bench.py"), path.join(stage, "bench", "torch_bench.py"));
  for (const [name, extras] of Object.entries(PACKAGES)) {
    const dir = path.join(root, "node_modules", name);
    if (!existsSync(path.join(dir, "package.json"))) fail(`node_modules/${name} is missing: run npm ci first.`);
    const main = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).main ?? "index.js";
    for (const f of ["package.json", main, ...extras]) {
      const from = path.join(dir, f);
      if (!existsSync(from)) fail(`node_modules/${name}/${f} is missing: run npm ci again.`);
      mkdirSync(path.dirname(path.join(stage, "node_modules", name, f)), { recursive: true });
      copyFileSync(from, path.join(stage, "node_modules", name, f));
    }
  }
}

function packApp() {
  for (const dist of ["lib/dist/index.js", "bench/dist/gpu/train.js"]) {
    if (!existsSync(path.join(root, dist))) fail(`${dist} is missing: build first (npm run gpu:pack builds: npm run build && tsc -b bench).`);
  }
  const stage = mkdtempSync(path.join(tmpdir(), "gpu-pack-app-"));
  try {
    stageApp(stage);
    const tar = path.join(stage, "..", `${path.basename(stage)}.tar`);
    run("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", stage, "-cf", tar, "."]);
    xz(tar, path.join(pack, "app.tar.xz"), "-9");
    rmSync(tar);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The Debian packages, downloaded once (apt-get download: no root needed) and kept. */
function packDebs() {
  const dir = path.join(pack, "debs");
  mkdirSync(dir, { recursive: true });
  const missing = DEBS.filter((name) => !readdirSync(dir).some((f) => f.startsWith(`${name}_`) && f.endsWith("_amd64.deb")));
  if (missing.length === 0) return;
  const r = spawnSync("apt-get", ["-oAPT::Architecture=amd64", "download", ...missing], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) fail(`apt-get download ${missing.join(" ")} failed (${(r.stderr || r.error?.message || "").trim().split("\n").pop()}): run apt-get update first, or put their amd64 .deb files in .gpu-pack/debs/.`);
}

function packDataset() {
  const file = process.env.TINYSHAKESPEARE_PATH || path.join(root, "data", "input.txt");
  if (!existsSync(file)) fail(`no tiny Shakespeare at ${file}: set TINYSHAKESPEARE_PATH, or run a lesson once to download it into data/.`);
  if (sha256(file) !== TINY_SHAKESPEARE_SHA256) fail(`${file} is not tiny Shakespeare (its sha256 differs).`);
  xz(file, path.join(pack, "input.txt.xz"), "-9");
}

/** The pack's files (resume/ and the Node stamp aside), relative to it. */
function packFiles() {
  const debs = readdirSync(path.join(pack, "debs")).map((f) => `debs/${f}`);
  return ["node.xz", "app.tar.xz", "input.txt.xz", "gpu-run.sh", ...debs];
}

/** Removes what an earlier pack left that this one no longer holds. */
function pruneStale() {
  const keep = new Set(["node.xz", "node.xz.source", "app.tar.xz", "input.txt.xz", "gpu-run.sh", "debs", "resume", "SHA256SUMS", "MANIFEST.txt"]);
  for (const f of readdirSync(pack)) if (!keep.has(f)) rmSync(path.join(pack, f), { recursive: true, force: true });
  for (const f of readdirSync(path.join(pack, "debs"))) {
    if (!DEBS.some((name) => f.startsWith(`${name}_`)) || !f.endsWith(".deb")) rmSync(path.join(pack, "debs", f));
  }
}

function writeManifest(files) {
  writeFileSync(path.join(pack, "SHA256SUMS"), files.map((f) => `${sha256(path.join(pack, f))}  ${f}\n`).join(""));
  const version = (name) => JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")).version;
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
  const appFiles = run("sh", ["-c", `xz -dc "${path.join(pack, "app.tar.xz")}" | tar -tvf - | awk '$3 > 0 {print $3, $6}'`]);
  writeFileSync(path.join(pack, "MANIFEST.txt"), [
    `GPU run pack of build-gpt-ts ${commit}: bash .gpu-pack/gpu-run.sh (docs/gpu.md)`,
    `Node ${process.version} (linux-x64), tfjs ${version("@tensorflow/tfjs")}, webgpu ${version("webgpu")}`,
    "", "files:", ...files.map((f) => `  ${mib(size(path.join(pack, f))).padStart(9)}  ${f}`),
    "", "app.tar.xz (bytes, path):", ...appFiles.trim().split("\n").map((l) => `  ${l}`), "",
  ].join("\n"));
}

/** Bytes the working tree sends to the device with this pack: tracked and untracked-not-ignored files, and the pack. */
function travelBytes(packBytes) {
  const listed = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).split("\0").filter(Boolean);
  return packBytes + listed.reduce((a, f) => a + (existsSync(path.join(root, f)) ? size(path.join(root, f)) : 0), 0);
}

function main() {
  if (process.platform !== "linux" || process.arch !== "x64") fail(`the GPU machine is linux-x64; this is ${process.platform}-${process.arch}, whose Node binary would not run there.`);
  if (!has("xz")) fail("xz is missing: apt-get install xz-utils.");
  mkdirSync(pack, { recursive: true });
  packNode();
  packApp();
  packDebs();
  packDataset();
  copyFileSync(path.join(root, "scripts", "gpu-run.sh"), path.join(pack, "gpu-run.sh"));
  pruneStale();
  const files = packFiles();
  writeManifest(files);
  const packBytes = [...files, "SHA256SUMS", "MANIFEST.txt"].reduce((a, f) => a + size(path.join(pack, f)), 0);
  for (const f of files) console.log(`  ${mib(size(path.join(pack, f))).padStart(9)}  .gpu-pack/${f}`);
  console.log(`.gpu-pack: ${mib(packBytes)} (at most ${mib(PACK_LIMIT)})`);
  if (packBytes > PACK_LIMIT) fail(`the pack is ${mib(packBytes)}, over ${mib(PACK_LIMIT)}.`);
  const resume = existsSync(path.join(pack, "resume")) ? readdirSync(path.join(pack, "resume")).filter((f) => f.startsWith("resume.xz.")) : [];
  const resumeBytes = resume.reduce((a, f) => a + size(path.join(pack, "resume", f)), 0);
  console.log(resume.length ? `.gpu-pack/resume: ${resume.join(", ")} (${mib(resumeBytes)}): the run continues from it` : ".gpu-pack/resume: empty: the run starts afresh");
  const travel = travelBytes(packBytes + resumeBytes);
  console.log(`a device call carries ${mib(travel)} of this working tree with the pack (at most ${mib(TRAVEL_LIMIT)}): carry [".gpu-pack"]`);
  if (travel > TRAVEL_LIMIT) fail(`that is over ${mib(TRAVEL_LIMIT)}: remove untracked files, or large files from the working tree.`);
}

main();
