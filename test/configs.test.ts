import { test } from "node:test";
import assert from "node:assert/strict";
import { CONFIGS, LADDER, Rng, buildModel, configNamed, gptConfigOf } from "@build-gpt/lib";
import { parseCommand, UsageError } from "@build-gpt/lib/dist/cli/args";
import { BENCH_COMMAND } from "../bench/src/main";
import { BENCH_MODELS } from "../bench/src/models";
import { TRAIN_COMMAND } from "@build-gpt/lib/dist/cli/train";
import { LADDER_COMMAND } from "@build-gpt/lib/dist/cli/ladder";
import { backend } from "./helpers";

test("configs: one registry; the ladder and the benchmark read their models from it", () => {
  const names = CONFIGS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, "names are unique");
  for (const step of LADDER) assert.equal(step.config, configNamed(step.id));
  // The benchmark's A and B are registry configurations as they are; gpt.py's is timed at batch 8, batched attention.
  assert.equal(BENCH_MODELS[0], configNamed("notebook-final"));
  assert.equal(BENCH_MODELS[1], configNamed("nanogpt-cpu"));
  assert.deepEqual(BENCH_MODELS[2], { ...configNamed("gpt-py"), attention: "batched", batchSize: 8 });
  assert.deepEqual(gptConfigOf(BENCH_MODELS[2], 65), { ...gptConfigOf(configNamed("gpt-py"), 65), attention: "batched" });
  assert.throws(() => configNamed("gpt2"), /Unknown configuration "gpt2".*notebook-final/);
});

test("configs: every configuration builds its model; gpt.py's has 10,788,929 parameters at vocab 65", async () => {
  await backend();
  for (const c of CONFIGS) {
    if (c.nEmbd >= 384) continue; // the large ones: counted below without training
    const model = buildModel(c, 65, new Rng(1));
    assert.ok(model.numParameters() > 0, c.name);
    model.dispose();
  }
  const big = buildModel(configNamed("gpt-py"), 65, new Rng(1));
  try {
    assert.equal(big.numParameters(), 10788929);
  } finally {
    big.dispose();
  }
});

test("parser: overrides are type-checked and an unknown key lists the known ones", () => {
  const p = parseCommand(["--config", "bigram", "--max-iters", "500", "--dropout", "0.1", "--attention", "batched", "--layer-norm", "false"], TRAIN_COMMAND);
  assert.deepEqual(p.overrides, { maxIters: 500, dropout: 0.1, attention: "batched", layerNorm: false });
  assert.equal(p.values.config, "bigram");
  assert.throws(() => parseCommand(["--max-iter", "5"], TRAIN_COMMAND), (e: Error) =>
    e instanceof UsageError && /Unknown option '--max-iter'/.test(e.message) && /--max-iters/.test(e.message) && /--n-embd/.test(e.message));
  assert.throws(() => parseCommand(["--max-iters", "1.5"], TRAIN_COMMAND), /max-iters.*positive integer, got "1.5"/);
  assert.throws(() => parseCommand(["--attention", "batchd"], TRAIN_COMMAND), /one of heads, batched/);
  assert.throws(() => parseCommand(["--dropout", "0.2x"], TRAIN_COMMAND), /a number, got "0.2x"/);
  assert.throws(() => parseCommand(["--layer-norm", "no"], TRAIN_COMMAND), /true or false/);
});

test("parser: bench's numeric options reject a missing or non-numeric value", () => {
  assert.deepEqual(parseCommand(["--steps", "5", "--warmup", "0"], BENCH_COMMAND).values, { steps: 5, warmup: 0 });
  assert.throws(() => parseCommand(["--steps"], BENCH_COMMAND), /argument missing/);
  assert.throws(() => parseCommand(["--steps", "--warmup", "3"], BENCH_COMMAND), /ambiguous/);
  assert.throws(() => parseCommand(["--steps", "ten"], BENCH_COMMAND), /--steps takes a positive whole number, got "ten"/);
  assert.throws(() => parseCommand(["--warmup", "-1"], BENCH_COMMAND), /ambiguous|whole number/);
});

test("parser: --steps means training steps in the ladder too; its rungs are chosen with --configs", () => {
  assert.deepEqual(parseCommand(["--configs", "bigram,one-head", "--steps", "300"], LADDER_COMMAND).values, { configs: "bigram,one-head", steps: 300 });
  assert.throws(() => parseCommand(["--steps", "bigram"], LADDER_COMMAND), /--steps takes a positive whole number, got "bigram"/);
});
