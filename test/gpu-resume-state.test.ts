import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadModelDir } from "@build-gpt/lib";
import { runTrain } from "@build-gpt/lib/internal";
import { compact, expand } from "../bench/src/gpu/resume-state";
import { backend } from "./helpers";

/** A small run of the train command into `out`, stopped after step `stopAt` as the GPU run's time limit stops it. */
async function trainInto(out: string, stopAt: number, extra: string[] = []): Promise<{ firstStep?: number; lastStep: number; interrupted: boolean }> {
  const stop = new AbortController();
  let firstStep: number | undefined;
  let lastStep = 0;
  const args = ["--config", "notebook-final", "--n-layer", "1", "--batch-size", "4", "--max-iters", "8", "--eval-interval", "3", "--eval-iters", "1", "--dropout", "0.2", "--out", out, ...extra];
  const outcome = await runTrain(args, {
    signal: stop.signal,
    log: () => {},
    onStep: (step) => {
      firstStep ??= step;
      lastStep = step;
      if (step === stopAt) stop.abort();
    },
  });
  outcome!.model.dispose();
  return { firstStep, lastStep, interrupted: outcome!.interrupted };
}

/** The largest log2 span of each block of 256 positive values: the 8-bit code's step is span / 254 octaves. */
function blockSpans(v: Float32Array): number[] {
  const spans: number[] = [];
  for (let b = 0; b * 256 < v.length; b++) {
    const logs = Array.from(v.subarray(b * 256, (b + 1) * 256)).filter((x) => x > 0).map(Math.log2);
    spans.push(logs.length ? Math.max(...logs) - Math.min(...logs) : 0);
  }
  return spans;
}

test("GPU resume state: weights within bfloat16's rounding, v within its 8-bit log step, m at zero, the rest exact; --resume continues from it", async () => {
  await backend();
  const dir = mkdtempSync(path.join(tmpdir(), "resume-state-"));
  try {
    const [a, b, file] = ["a", "b", "state.bin"].map((f) => path.join(dir, f));
    assert.equal((await trainInto(a, 4)).interrupted, true);
    await compact(a, file, false);
    const resumed = await expand(file, b);
    assert.deepEqual({ step: resumed.step, done: resumed.done }, { step: 4, done: false });

    const exact = loadModelDir(a);
    const got = loadModelDir(b);
    try {
      assert.deepEqual(got.config.training, exact.config.training, "the step, the random states and the evaluations travel exactly");
      assert.equal(got.optimizer!.t, exact.optimizer!.t);
      const [pa, pb] = [exact.model.namedParameters(), got.model.namedParameters()];
      for (const [i, [name, p]] of pa.entries()) {
        const [w, w2] = [p.dataSync(), pb[i][1].dataSync()];
        for (let k = 0; k < w.length; k++) assert.ok(Math.abs(w2[k] - w[k]) <= Math.abs(w[k]) * 2 ** -8, `${name}[${k}]: ${w2[k]} for ${w[k]}`);
        const [v, v2] = [exact.optimizer!.v[i], got.optimizer!.v[i]];
        const spans = blockSpans(v);
        for (let k = 0; k < v.length; k++) {
          const bound = v[k] * (2 ** (spans[Math.floor(k / 256)] / 508) - 1) * (1 + 1e-5);
          assert.ok(Math.abs(v2[k] - v[k]) <= bound, `v of ${name}[${k}]: ${v2[k]} for ${v[k]}`);
        }
        assert.ok(got.optimizer!.m[i].every((x) => x === 0), `m of ${name} restarts at zero`);
      }
    } finally {
      exact.model.dispose();
      got.model.dispose();
    }

    const run = await trainInto(b, 0, ["--resume"]);
    assert.deepEqual({ first: run.firstStep, last: run.lastStep, interrupted: run.interrupted }, { first: 5, last: 8, interrupted: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("GPU resume state: 'done' travels; a state cut short is refused with what to do", async () => {
  await backend();
  const dir = mkdtempSync(path.join(tmpdir(), "resume-state-"));
  try {
    const [a, file] = ["a", "state.bin"].map((f) => path.join(dir, f));
    await trainInto(a, 2);
    await compact(a, file, true);
    assert.deepEqual((await expand(file, path.join(dir, "b"))).done, true);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(expand(file, path.join(dir, "c")), /damaged or cut short/);
    writeFileSync(file, bytes.subarray(0, 20));
    await assert.rejects(expand(file, path.join(dir, "c")), /join every part/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
