import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  AdamW, BigramLanguageModel, generate, liveProgress, Rng, terminalProgress, train, TrainingInterrupted,
  type Split, type TrainProgress, type TrainStatus,
} from "@build-gpt/lib/internal";
import {
  barText, formatDuration, formatRate, inNotebook, isCI, progressLine, TerminalBar, Throttle, timeLeftMs, tokensPerSecond,
  watchInterrupts, type TerminalStream,
} from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const status = (s: Partial<TrainStatus> = {}): TrainStatus => ({
  step: 0, maxIters: 1000, tokensPerStep: 256, elapsedMs: 0, stepMs: 0, evalMs: 0, evals: 0, evalsTotal: 11,
  evaluating: false, state: "running", ...s,
});

/** A terminal that records what is written to it. */
function fakeTerminal(isTTY: boolean, columns = 80): TerminalStream & { out: string } {
  return { isTTY, columns, out: "", write(text: string) { this.out += text; } };
}

/** Random tokens: enough to train a bigram model on for a few steps. */
function tinySplit(): Split {
  const rng = new Rng(3);
  const tokens = (n: number) => Int32Array.from({ length: n }, () => rng.int(65));
  return { train: tokens(4000), val: tokens(1000) };
}

/** Records what train() reports, and lets a test act at a chosen moment. */
function recorder(act: (s: Readonly<TrainStatus>) => void = () => {}) {
  const updates: TrainStatus[] = [];
  const ends: TrainStatus[] = [];
  const progress: TrainProgress = {
    update: (s) => { updates.push({ ...s }); act(s); },
    end: (s) => { ends.push({ ...s }); },
  };
  return { progress, updates, ends };
}

test("durations and rates read well", () => {
  assert.equal(formatDuration(0), "0.0 s");
  assert.equal(formatDuration(830), "0.8 s");
  assert.equal(formatDuration(9960), "10 s");
  assert.equal(formatDuration(42_400), "42 s");
  assert.equal(formatDuration(59_600), "1 min 00 s");
  assert.equal(formatDuration(185_000), "3 min 05 s");
  assert.equal(formatDuration(3_720_000), "1 h 02 min");
  assert.equal(formatRate(850.2), "850 tok/s");
  assert.equal(formatRate(12_345), "12.3k tok/s");
  assert.equal(formatRate(1_250_000), "1.25M tok/s");
});

test("tokens per second count training steps only; time left adds the evaluations still to come", () => {
  assert.equal(tokensPerSecond(status()), undefined);
  assert.equal(timeLeftMs(status()), undefined);
  // 100 steps of 256 tokens in 2 s of stepping: 12,800 tokens/s, whatever the evaluations took.
  const s = status({ step: 100, stepMs: 2000, evalMs: 500, evals: 1, elapsedMs: 2500 });
  assert.equal(tokensPerSecond(s), 12_800);
  // 900 steps at 20 ms, and 10 evaluations at 500 ms.
  assert.equal(timeLeftMs(s), 900 * 20 + 10 * 500);
  assert.equal(timeLeftMs(status({ step: 1000, stepMs: 2000, evalMs: 5500, evals: 11 })), 0);
  // A run resumed at step 500 has taken 100 steps in its 2 s: the rate and the time left count those only.
  const resumed = status({ step: 600, startStep: 500, stepMs: 2000 });
  assert.equal(tokensPerSecond(resumed), 12_800);
  assert.equal(timeLeftMs(resumed), 400 * 20);
});

test("the progress line: running, evaluating, finished, interrupted", () => {
  const lastEval = { step: 100, train: 2.51234, val: 2.6, elapsedMs: 2000 };
  const running = progressLine(status({ step: 120, loss: 2.4, lastEval, stepMs: 2400, evalMs: 400, evals: 2, elapsedMs: 3000 }), "bigram");
  assert.equal(running, "bigram: step 120/1000 · loss 2.4000 · train 2.5123, val 2.6000 (step 100) · 12.8k tok/s · 19 s left"); // 880 × 20 ms + 9 × 200 ms
  assert.equal(progressLine(status({ evaluating: true })), "step 0/1000 · evaluating");
  assert.match(progressLine(status({ step: 10, loss: 3, stepMs: 10, evalMs: 10, evals: 1 })), / · 1\.1 s left$/); // 990 × 1 ms + 10 × 10 ms
  const done = progressLine(status({ step: 1000, lastEval: { ...lastEval, step: 1000 }, stepMs: 20_000, elapsedMs: 41_000, state: "done" }));
  assert.equal(done, "1000 steps in 41 s · train 2.5123, val 2.6000 · 12.8k tok/s");
  const stopped = progressLine(status({ step: 123, lastEval, stepMs: 2400, elapsedMs: 16_000, state: "interrupted" }));
  assert.equal(stopped, "interrupted at step 123/1000 after 16 s · train 2.5123, val 2.6000 (step 100) · the model keeps the weights of step 123");
});

test("a throttle lets one call through per interval", () => {
  let now = 0;
  const throttle = new Throttle(250, () => now);
  const seen: number[] = [];
  for (now = 0; now <= 1000; now += 50) if (throttle.ready()) seen.push(now);
  assert.deepEqual(seen, [0, 250, 500, 750, 1000]);
});

test("CI is set unless empty, 0 or false; the bar fills in proportion", () => {
  assert.equal(isCI({}), false);
  for (const v of ["", "0", "false", "FALSE"]) assert.equal(isCI({ CI: v }), false, v);
  for (const v of ["1", "true", "yes"]) assert.equal(isCI({ CI: v }), true, v);
  assert.equal(barText(0.5, 10), "█████░░░░░");
  assert.equal(barText(2, 4), "████");
  assert.equal(barText(-1, 4), "░░░░");
});

test("the terminal bar redraws one line in place on a terminal, a few times a second", () => {
  const tty = fakeTerminal(true, 60);
  const bar = new TerminalBar("bigram", { stream: tty, env: {} });
  assert.equal(bar.enabled, true);
  for (let i = 1; i <= 1000; i++) bar.update(i, 1000, `step ${i}/1000 and a long tail of details that does not fit in the terminal`);
  const draws = tty.out.split("\r").filter(Boolean);
  assert.ok(draws.length >= 1 && draws.length <= 3, `throttled to a few redraws, got ${draws.length}`);
  assert.ok(draws[0].startsWith("bigram ░░░░░░░░░░░░░░░░░░░░   0% step 1/1000"), draws[0]);
  assert.ok(draws.every((d) => d.replace("\x1b[K", "").length <= 59), "never wider than the terminal");
  assert.ok(!tty.out.includes("\n"));
  bar.finish("1000 steps in 3 s");
  assert.ok(tty.out.endsWith("\rbigram: 1000 steps in 3 s\x1b[K\n"));

  const erased = fakeTerminal(true);
  const transient = new TerminalBar("x", { stream: erased, env: {}, keep: false });
  transient.update(1, 2);
  transient.finish("done");
  assert.ok(erased.out.endsWith("\r\x1b[2K") && !erased.out.includes("done"));
});

test("the terminal bar is quiet when not on a terminal, or in CI", () => {
  for (const [stream, env] of [[fakeTerminal(false), {}], [fakeTerminal(true), { CI: "true" }]] as const) {
    const bar = new TerminalBar("quiet", { stream, env });
    bar.update(1, 2, "x");
    bar.finish("y");
    assert.equal(bar.enabled, false);
    assert.equal(stream.out, "");
  }
});

test("outside a notebook, liveProgress is the terminal bar (quiet here: stderr is not a terminal)", () => {
  assert.equal(inNotebook(), false);
  const progress = liveProgress({ label: "x" });
  progress.update(status({ step: 1 }), []);
  progress.end(status({ step: 1, state: "done" }), []);
});

test("train() reports every step and evaluation to its progress, and ends once", async () => {
  await backend();
  const model = new BigramLanguageModel(65, new Rng(1));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  try {
    const { progress, updates, ends } = recorder();
    const tty = fakeTerminal(true);
    const bar = terminalProgress("bigram", { stream: tty, env: {} });
    const both: TrainProgress = { update: (s, h) => { progress.update(s, h); bar.update(s, h); }, end: (s, h) => { progress.end(s, h); bar.end(s, h); } };
    const result = await train(model, optimizer, tinySplit(), { batchSize: 4, blockSize: 8, maxIters: 10, evalInterval: 4, evalIters: 2, rng: new Rng(2), progress: both });
    assert.deepEqual(result.history.map((p) => p.step), [0, 4, 8, 10]);
    assert.deepEqual([...new Set(updates.filter((u) => !u.evaluating).map((u) => u.step))], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(updates.some((u) => u.evaluating), "reports while evaluating");
    assert.equal(ends.length, 1);
    const end = ends[0];
    assert.equal(end.state, "done");
    assert.equal(end.step, 10);
    assert.equal(end.evals, 4);
    assert.equal(end.evalsTotal, 4);
    assert.equal(end.tokensPerStep, 32);
    assert.deepEqual(end.lastEval, result.history[3]);
    assert.ok(end.stepMs > 0 && end.evalMs > 0 && end.stepMs + end.evalMs <= end.elapsedMs + 1);
    assert.ok(tty.out.endsWith("\n") && tty.out.includes("bigram: 10 steps in"), JSON.stringify(tty.out));
  } finally {
    model.dispose();
    optimizer.dispose();
  }
});

test("an aborted run stops at a step boundary: no tensor left, the model usable, training resumable", async () => {
  await backend();
  const split = tinySplit();
  const model = new BigramLanguageModel(65, new Rng(1));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  try {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const { progress, ends } = recorder((s) => { if (s.step === 7) controller.abort(); });
    const options = { batchSize: 4, blockSize: 8, maxIters: 1000, evalInterval: 5, evalIters: 2, rng: new Rng(2) };
    const err = await train(model, optimizer, split, { ...options, progress, signal: controller.signal }).then(() => undefined, (e) => e);
    assert.ok(err instanceof TrainingInterrupted, String(err));
    assert.equal(err.step, 7);
    assert.match(err.message, /interrupted at step 7/);
    assert.equal(err.result.stepLosses.length, 7);
    assert.deepEqual(err.result.history.map((p) => p.step), [0, 5]);
    assert.equal(ends.length, 1);
    assert.equal(ends[0].state, "interrupted");
    assert.equal(optimizer.t, 7, "the optimizer took exactly the completed steps");
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    assert.equal(model.training, true);
    assert.equal((await generate(model, [0], 20, { rng: new Rng(5) })).length, 21);
    const resumed = await train(model, optimizer, split, { ...options, maxIters: 5 });
    assert.equal(resumed.stepLosses.length, 5);
    assert.equal(optimizer.t, 12);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
    optimizer.dispose();
  }
});

test("a run stopped during an evaluation puts the model back in training mode and leaves no tensor", async () => {
  await backend();
  const model = new BigramLanguageModel(65, new Rng(1));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  try {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let sawEvalMode = false;
    const { progress } = recorder((s) => {
      if (s.evaluating && s.evals === 1) {
        sawEvalMode ||= !model.training;
        controller.abort();
      }
    });
    const err = await train(model, optimizer, tinySplit(), {
      batchSize: 4, blockSize: 8, maxIters: 100, evalInterval: 3, evalIters: 50, rng: new Rng(2), progress, signal: controller.signal,
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof TrainingInterrupted);
    assert.equal(err.step, 3);
    assert.equal(err.result.history.length, 1, "the evaluation cut short is not recorded");
    assert.ok(sawEvalMode, "the model was evaluating in eval mode");
    assert.equal(model.training, true);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
    optimizer.dispose();
  }
});

test("SIGINT stops training when the process handles SIGINT (as the tslab kernel does)", async () => {
  await backend();
  const model = new BigramLanguageModel(65, new Rng(1));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  try {
    const before = tf.memory().numTensors;
    const kernelHandler = () => {}; // stands in for tslab's own SIGINT handler
    process.on("SIGINT", kernelHandler);
    try {
      let sent = false;
      const { progress } = recorder((s) => {
        if (s.step === 3 && !sent) {
          sent = true;
          process.kill(process.pid, "SIGINT"); // a real signal, delivered when the event loop gets a turn
        }
      });
      const err = await train(model, optimizer, tinySplit(), {
        batchSize: 4, blockSize: 8, maxIters: 1_000_000, evalInterval: 100_000, evalIters: 2, rng: new Rng(2), progress,
      }).then(() => undefined, (e) => e);
      assert.ok(err instanceof TrainingInterrupted, String(err));
      assert.ok(err.step >= 3 && err.step < 100_000, `stopped at step ${err.step}`);
      assert.equal(optimizer.t, err.step);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(process.listenerCount("SIGINT"), 1, "train() removed its own listener");
    } finally {
      process.off("SIGINT", kernelHandler);
    }
  } finally {
    model.dispose();
    optimizer.dispose();
  }
});

test("in a plain script train() leaves SIGINT alone, so Ctrl-C still exits", () => {
  assert.equal(process.listenerCount("SIGINT"), 0);
  const watch = watchInterrupts();
  assert.equal(process.listenerCount("SIGINT"), 0);
  watch.close();
  const forced = watchInterrupts(true);
  assert.equal(process.listenerCount("SIGINT"), 1);
  forced.close();
  assert.equal(process.listenerCount("SIGINT"), 0);
});
