/** lab.trainingState: a notebook's interrupted run, saved with saveCheckpoint, resumes exactly — in a notebook and with the train command. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { runTrain } from "@build-gpt/lib/dist/cli/train";
import {
  AdamW, CharTokenizer, GPTLanguageModel, Rng, TrainingInterrupted, configs, lab, loadCheckpoint, saveCheckpoint, train, trainValSplit,
} from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const TEXT = Array.from({ length: 40 }, (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog.\n`).join("");
/** A configuration small enough to train in a second, with dropout so that its random streams matter. */
const CONFIG: configs.Config = {
  ...configs.named("notebook-final"), blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 1, dropout: 0.1, batchSize: 4,
  maxIters: 12, evalInterval: 4, evalIters: 2,
};
const tokenizer = CharTokenizer.fromText(TEXT);
const split = trainValSplit(tokenizer.encode(TEXT));

/** A fresh run as the train command starts one: the model from Rng(seed), then the batches from the same rng. */
function fresh() {
  const rng = new Rng(1337);
  const model = configs.build(CONFIG, tokenizer.vocabSize, rng) as GPTLanguageModel;
  const optimizer = new AdamW(model.parameters(), { lr: CONFIG.learningRate });
  return { rng, model, optimizer };
}

test("a notebook run stopped at step 6, saved with lab.trainingState, resumes to the never-stopped run's losses in a notebook and with npm run train", async () => {
  await backend();
  const full = fresh();
  const never = await train(full.model, full.optimizer, split, { ...configs.trainingOf(CONFIG), rng: full.rng });
  full.model.dispose();
  full.optimizer.dispose();

  const dir = mkdtempSync(path.join(tmpdir(), "lab-state-"));
  const dataPath = path.join(dir, "text.txt");
  writeFileSync(dataPath, TEXT);
  const out = path.join(dir, "run");
  const run = fresh();
  const stop = new AbortController();
  const stopped = await train(run.model, run.optimizer, split, {
    ...configs.trainingOf(CONFIG), rng: run.rng, signal: stop.signal, onStep: (s) => { if (s === 6) stop.abort(); },
  }).then(() => undefined, (err: unknown) => err);
  assert.ok(stopped instanceof TrainingInterrupted);
  assert.equal(stopped.step, 6);
  const state = lab.trainingState({ config: CONFIG, seed: 1337, text: TEXT, dataPath, model: run.model, rng: run.rng, step: stopped.step, history: stopped.result.history });
  assert.deepEqual(state.history.map((e) => e.step), [0, 4]);
  assert.equal(state.bestVal, Math.min(...stopped.result.history.map((e) => e.val)));
  await saveCheckpoint(out, { model: run.model, tokenizer, optimizer: run.optimizer, state });
  run.model.dispose();
  run.optimizer.dispose();

  const before = tf.memory().numTensors;
  const resumed = loadCheckpoint(out);
  const rest = await train(resumed.model, resumed.optimizer, split, { ...configs.trainingOf(resumed.state.config), startStep: resumed.state.step, rng: resumed.rng });
  resumed.model.dispose();
  resumed.optimizer.dispose();
  assert.equal(tf.memory().numTensors, before, "nothing left behind");
  assert.deepEqual([...stopped.result.stepLosses, ...rest.stepLosses], never.stepLosses);
  assert.deepEqual(rest.history.map((p) => [p.step, p.train, p.val]), never.history.filter((p) => p.step >= 6).map((p) => [p.step, p.train, p.val]));

  const command = await runTrain(["--out", out, "--resume"], { log: () => undefined });
  command!.model.dispose();
  assert.deepEqual(command!.stepLosses, never.stepLosses.slice(6));
  assert.deepEqual(command!.history.map((p) => [p.step, p.val]), never.history.map((p) => [p.step, p.val]));
});

test("lab.trainingState refuses a step outside the run", async () => {
  await backend();
  const run = fresh();
  try {
    const at = (step: number) => lab.trainingState({ config: CONFIG, seed: 1337, text: TEXT, model: run.model, rng: run.rng, step, history: [] });
    assert.throws(() => at(13), /step must be the steps completed, an integer in \[0, 12\] \(the config's maxIters\), got 13/);
    assert.throws(() => at(2.5), /got 2\.5/);
    assert.equal(at(0).bestVal, Infinity);
    assert.equal(at(0).data.path, null);
  } finally {
    run.model.dispose();
    run.optimizer.dispose();
  }
});
