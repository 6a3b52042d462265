#!/usr/bin/env node
// npm run binder-sim [-- 01 06]: mybinder.org as close as this machine allows (no Docker, so no repo2docker image).
//  1. copies the project's files (git's tracked and untracked-not-ignored files: a fresh clone's) into a fresh folder,
//     with a fresh, empty HOME;
//  2. builds the environment from binder/: a venv with binder/base-requirements.txt (repo2docker's base environment:
//     JupyterLab 4.4, Notebook 7.4) and binder/requirements.txt on top, as repo2docker installs it;
//  3. runs binder/postBuild there, as Binder does (the environment first on PATH, HOME the fresh one);
//  4. starts `jupyter lab` in that folder as Binder does (no JUPYTER_PATH: only the kernel postBuild registered),
//     inside a 2 GB memory limit and a 1-CPU quota (cgroup v2 memory.max/cpu.max, else cgroup v1
//     memory.limit_in_bytes/cpu.cfs_quota_us; the server and its kernels are in it, Chromium is not);
//  5. opens the badge's path, lab/tree/notebooks/<first lesson>, in headless Chromium, runs the lesson there, then
//     each other lesson (default: the first and the last; `-- all` for every lesson; `-- 03` those whose name
//     contains 03) by its lab/tree path, with the browser test's checks up to the save, and prints each lesson's time
//     and the peak memory of the whole cgroup (server + kernel) while it ran.
// It also checks that postBuild made no second Jupyter (no .venv/: npm ci's set-up finds Binder's JupyterLab) and
// gave Binder's JupyterLab the settings override that answers its news question.
// Fast mode (GPT_FAST=1) unless BINDER_SIM_FULL=1. The dataset comes from TINYSHAKESPEARE_PATH where it is set, else
// the first lesson downloads it (as on mybinder.org).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, findChromium, keepOffline, loadPlaywright } from "./browser.mjs";
import { copyCheckout, lessonNames, root } from "./lesson-env.mjs";
import { runLesson } from "./browser-test/lesson.mjs";
import { cleanup, started, startServer } from "./browser-test/server.mjs";
import { LAB_OVERRIDES } from "./lab-settings.mjs";
const LIMIT_BYTES = 2 * 1024 ** 3;
const log = (line) => console.log(line);
const mib = (bytes) => `${Math.round(bytes / 1024 ** 2)} MiB`;

function sh(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${result.status})`);
}

/** A cgroup with Binder's limits; returns { kind, enter (a shell prefix), peak(), resetPeak(), remove() } or undefined. */
function makeCgroup(name) {
  const v2 = "/sys/fs/cgroup";
  try {
    if (existsSync(join(v2, "cgroup.controllers"))) {
      const dir = join(v2, name);
      mkdirSync(dir);
      writeFileSync(join(dir, "memory.max"), String(LIMIT_BYTES));
      writeFileSync(join(dir, "memory.swap.max"), "0");
      writeFileSync(join(dir, "cpu.max"), "100000 100000");
      return {
        kind: "cgroup v2: memory.max 2 GiB, memory.swap.max 0, cpu.max 100000/100000 (1 CPU)",
        procs: [join(dir, "cgroup.procs")],
        peak: () => Number(readFileSync(join(dir, "memory.peak"), "utf8")),
        resetPeak: () => { try { writeFileSync(join(dir, "memory.peak"), "reset"); } catch { /* kernels before 6.12 */ } },
        remove: () => rmSync(dir, { recursive: false, force: true }),
      };
    }
    const mem = join(v2, "memory", name);
    const cpu = join(v2, "cpu", name);
    mkdirSync(mem);
    mkdirSync(cpu);
    writeFileSync(join(mem, "memory.limit_in_bytes"), String(LIMIT_BYTES));
    try { writeFileSync(join(mem, "memory.memsw.limit_in_bytes"), String(LIMIT_BYTES)); } catch { /* no swap accounting */ }
    writeFileSync(join(cpu, "cpu.cfs_period_us"), "100000");
    writeFileSync(join(cpu, "cpu.cfs_quota_us"), "100000");
    return {
      kind: "cgroup v1: memory.limit_in_bytes 2 GiB, cpu.cfs_quota_us 100000 per 100000 µs (1 CPU)",
      procs: [join(mem, "cgroup.procs"), join(cpu, "cgroup.procs")],
      peak: () => Number(readFileSync(join(mem, "memory.max_usage_in_bytes"), "utf8")),
      // the page cache of earlier lessons counts in the cgroup's usage: reclaim it first, then restart the peak
      resetPeak: () => {
        try { writeFileSync(join(mem, "memory.force_empty"), "0"); } catch { /* busy pages stay */ }
        writeFileSync(join(mem, "memory.max_usage_in_bytes"), "0");
      },
      failcnt: () => Number(readFileSync(join(mem, "memory.failcnt"), "utf8")),
      remove: () => { for (const d of [mem, cpu]) spawnSync("rmdir", [d]); },
    };
  } catch (error) {
    log(`binder-sim: no cgroup (${error.message}): running without Binder's limits`);
    return undefined;
  }
}

async function main() {
  const args = process.argv.slice(2);
  const all = args.includes("all");
  const every = lessonNames(readdirSync(join(root, "notebooks")));
  const lessons = all ? every : args.length ? lessonNames(every, args) : [...new Set([every[0], every.at(-1)])];
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "gpt-binder-sim-"));
  const repo = join(dir, "repo");
  const home = join(dir, "home");
  mkdirSync(home);
  // 1. the files of a fresh clone
  log(`binder-sim: ${copyCheckout(repo)} files copied to ${repo}, HOME=${home}`);
  // 2. the environment
  const env0 = { PATH: process.env.PATH, HOME: home, LANG: "C.UTF-8", ...(process.env.TINYSHAKESPEARE_PATH ? { TINYSHAKESPEARE_PATH: process.env.TINYSHAKESPEARE_PATH } : {}) };
  const venv = join(dir, "srv-conda-env");
  sh("/usr/bin/python3", ["-m", "venv", venv], { env: env0 });
  sh(join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", "-r", "binder/base-requirements.txt", "-r", "binder/requirements.txt"], { cwd: repo, env: env0 });
  const env = { ...env0, PATH: `${join(venv, "bin")}:${process.env.PATH}` };
  const version = spawnSync(join(venv, "bin", "python"), ["-c", "import jupyterlab; print(jupyterlab.__version__)"], { encoding: "utf8" }).stdout.trim();
  log(`binder-sim: environment built, JupyterLab ${version} (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  // 3. postBuild
  const tb = Date.now();
  sh("bash", ["binder/postBuild"], { cwd: repo, env });
  log(`binder-sim: postBuild ran (${((Date.now() - tb) / 1000).toFixed(0)}s)`);
  if (existsSync(join(repo, ".venv"))) throw new Error("postBuild's npm ci made .venv/, a second Jupyter beside Binder's");
  const overrides = join(venv, "share", "jupyter", "lab", "settings", "overrides.json");
  const settings = existsSync(overrides) ? JSON.parse(readFileSync(overrides, "utf8")) : {};
  for (const [plugin, values] of Object.entries(LAB_OVERRIDES)) {
    if (JSON.stringify({ ...settings[plugin], ...values }) !== JSON.stringify(settings[plugin])) throw new Error(`postBuild did not set ${plugin} ${JSON.stringify(values)} in ${overrides}`);
  }
  log("binder-sim: no .venv/ made, and Binder's JupyterLab has the settings override (no news question)");
  // 4. jupyter lab, as Binder starts it, in the limits
  const cgroup = makeCgroup(`gpt-binder-sim-${process.pid}`);
  const serverEnv = { ...env, GPT_FAST: process.env.BINDER_SIM_FULL === "1" ? "" : "1" };
  if (!serverEnv.GPT_FAST) delete serverEnv.GPT_FAST;
  let python = join(venv, "bin", "python");
  if (cgroup) {
    // a wrapper that enters the cgroup, then becomes Python: the server and every kernel it starts are inside
    const wrapper = join(dir, "in-cgroup-python");
    writeFileSync(wrapper, `#!/bin/sh\n${cgroup.procs.map((p) => `echo $$ > ${p}`).join("\n")}\nexec ${python} "$@"\n`, { mode: 0o755 });
    python = wrapper;
  }
  const failures = [];
  const rows = [];
  try {
    await startServer(python, repo, join(dir, "jupyter.log"), { jupyterPath: false, env: serverEnv });
    log(`binder-sim: jupyter lab ${version} on ${started.base}, limits: ${cgroup?.kind ?? "none"}`);
    const playwright = await loadPlaywright();
    started.browser = await launchChromium(playwright, findChromium());
    const context = await started.browser.newContext({ viewport: { width: 1280, height: 1000 } });
    await keepOffline(context, [started.base]);
    const shotsDir = join(root, "out", "screenshots");
    mkdirSync(shotsDir, { recursive: true });
    for (const lesson of lessons) {
      cgroup?.resetPeak();
      const t1 = Date.now();
      const file = join(repo, "notebooks", lesson);
      const result = await runLesson(context, { path: `notebooks/${lesson}`, file, tag: `binder-sim.lab${version}`, shotsDir, afterReload: false, log });
      const took = (Date.now() - t1) / 1000;
      const peak = cgroup ? cgroup.peak() : NaN;
      rows.push({ lesson, took, peak, ok: !result.problems.length });
      if (result.problems.length) {
        failures.push(lesson);
        log(`FAIL binder-sim ${lesson}:\n  ${result.problems.join("\n  ")}`);
      } else log(`ok   binder-sim ${lesson}: ${took.toFixed(0)}s, peak ${cgroup ? mib(peak) : "not measured"} (server + kernel); ${result.notes.join("; ")}`);
    }
    if (cgroup?.failcnt) log(`binder-sim: the memory limit was hit ${cgroup.failcnt()} times`);
  } finally {
    await cleanup();
    cgroup?.remove();
    if (process.env.BINDER_SIM_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  }
  log("| lesson | result | time | peak memory (server + kernel) |\n| --- | --- | --- | --- |");
  for (const r of rows) log(`| ${r.lesson} | ${r.ok ? "ok" : "FAIL"} | ${r.took.toFixed(0)} s | ${Number.isFinite(r.peak) ? mib(r.peak) : "?"} |`);
  log(`binder-sim: ${rows.length - failures.length} passed, ${failures.length} failed (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  return failures.length ? 1 : 0;
}

process.exit(await main());
