/**
 * How initBackend chooses the GPU engine (runs in `npm run test:unit`, on any machine): the small lessons never look for
 * a GPU; the scaled workload takes a hardware GPU or falls back with one line saying why; GPT_BACKEND=webgpu that
 * cannot start is an error that says why. The engine itself is tested in test/webgpu.test.ts (npm run test:webgpu).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { initBackend } from "@build-gpt/lib/internal";

const root = path.resolve(__dirname, "..", "..");

test("backend choice: the lessons' workload (the default) does not look for a GPU", async () => {
  const info = await initBackend("auto");
  assert.notEqual(info.name, "webgpu");
  assert.equal(info.gpuFallback, undefined);
  assert.doesNotMatch(info.description, /GPU engine/);
});

test("backend choice: the scaled workload takes a hardware GPU, or says in one line why not and runs on the CPU", async () => {
  const info = await initBackend("auto", { workload: "scaled" });
  if (info.name === "webgpu") {
    assert.doesNotMatch(info.description, /software adapter/, "a software adapter is never chosen automatically");
  } else {
    assert.ok(info.gpuFallback, "a fallback reason");
    const [first, second, ...rest] = info.description.split("\n");
    assert.match(first, /^GPU engine not used: .+; running on the CPU\.$/);
    assert.match(second, /^Backend: (tensorflow|wasm|cpu) /);
    assert.deepEqual(rest, []);
  }
  await initBackend("auto"); // back to the lessons' engine for the other tests in this process
});

test("backend choice: an unknown workload or backend is an error that lists the choices", async () => {
  await assert.rejects(initBackend("auto", { workload: "huge" as never }), /Unknown workload "huge"\. Use "lessons" or "scaled"/);
  await assert.rejects(initBackend("gpu" as never), /Unknown backend "gpu"\. Use one of: auto, webgpu, tensorflow, wasm, cpu/);
});

test("backend choice: GPT_BACKEND=webgpu where no adapter starts is an error naming the reason", () => {
  // A process whose Vulkan sees no driver at all: Dawn finds no adapter.
  const script = `require("@build-gpt/lib").initBackend().then((i) => console.log("started " + i.name), (e) => { console.log(e.message); process.exit(3); })`;
  const env = { ...process.env, GPT_BACKEND: "webgpu", VK_ICD_FILENAMES: "/nonexistent/icd.json", VK_DRIVER_FILES: "/nonexistent/icd.json" };
  const run = spawnSync(process.execPath, ["-e", script], { cwd: root, env, encoding: "utf8", timeout: 60_000 });
  if (run.stdout.startsWith("started webgpu")) return; // a platform where Dawn needs no Vulkan (macOS, Windows)
  assert.equal(run.status, 3, run.stdout + run.stderr);
  assert.match(run.stdout, /^GPT_BACKEND=webgpu, but the GPU engine did not start: .+\. See docs\/engines\.md, 'The GPU engine'\./);
});
