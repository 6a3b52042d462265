#!/usr/bin/env node
// npm run test:webgpu — the GPU engine's tests (test/webgpu.test.ts) on the webgpu backend.
//
// With no GPU set up (no VK_ICD_FILENAMES given), Vulkan is pointed at SwiftShader, the software Vulkan that Debian's
// chromium package installs (vk_swiftshader_icd.json), so CI needs no GPU. Where neither the Vulkan loader
// (libvulkan1) nor SwiftShader is installed, the tests are skipped with a message saying what to install (under
// CI=true they fail instead: .ci/run installs both).
// GPT_WEBGPU_HARDWARE=1 runs them on the machine's own Vulkan driver (a real GPU) instead of SwiftShader.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const compiled = path.join(root, ".test-build", "test", "webgpu.test.js");

/** Skips (exit 0) with what to install; under CI=true, where .ci/run installs both, a missing piece fails instead. */
function skip(why) {
  const ci = process.env.CI === "true";
  console.log(`test:webgpu ${ci ? "failed (CI=true)" : "skipped"}: ${why}`);
  process.exit(ci ? 1 : 0);
}

function findLibVulkan() {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean), "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];
  return dirs.map((d) => path.join(d, "libvulkan.so.1")).find((f) => existsSync(f));
}

/** SwiftShader's Vulkan driver manifest: chromium's copy, or the one GPT_SWIFTSHADER_ICD names. */
function findSwiftShader() {
  const candidates = [process.env.GPT_SWIFTSHADER_ICD, "/usr/lib/chromium/vk_swiftshader_icd.json"].filter(Boolean);
  const found = candidates.find((f) => existsSync(f));
  if (found) return found;
  for (const pkg of ["chromium-common", "chromium"]) {
    const listed = spawnSync("dpkg", ["-L", pkg], { encoding: "utf8" });
    const icd = (listed.stdout ?? "").split("\n").find((l) => l.endsWith("vk_swiftshader_icd.json"));
    if (icd && existsSync(icd)) return icd;
  }
  return undefined;
}

if (process.platform !== "linux") skip("SwiftShader set-up is for Linux; on this machine run GPT_BACKEND=webgpu with GPT_WEBGPU_TEST=1 node --test .test-build/test/webgpu.test.js");
if (!findLibVulkan()) skip("no Vulkan loader (libvulkan.so.1). Install it: apt-get install libvulkan1");

const env = { ...process.env, GPT_WEBGPU_TEST: "1" };
const hardware = process.env.GPT_WEBGPU_HARDWARE === "1" || Boolean(process.env.VK_ICD_FILENAMES);
if (!hardware) {
  const icd = findSwiftShader();
  if (!icd) skip("no GPU driver named and no SwiftShader (vk_swiftshader_icd.json). Install it: apt-get install chromium");
  env.VK_ICD_FILENAMES = icd;
  console.log(`test:webgpu on SwiftShader (${icd}): software, slow, tiny sizes`);
}
// Dawn's Vulkan set-up wants a private runtime directory; CI containers often have none.
const runtimeDir = mkdtempSync(path.join(tmpdir(), "webgpu-test-"));
env.XDG_RUNTIME_DIR = runtimeDir;

const source = path.join(root, "test", "webgpu.test.ts");
if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
  const built = spawnSync("npm", ["run", "build:test", "--silent"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const run = spawnSync(process.execPath, ["--test", "--test-reporter=spec", compiled], { cwd: root, env, stdio: "inherit" });
rmSync(runtimeDir, { recursive: true, force: true });
process.exit(run.status ?? 1);
