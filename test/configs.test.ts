import { test } from "node:test";
import assert from "node:assert/strict";
import { configs, Rng } from "@build-gpt/lib/internal";
import { parseCommand, UsageError } from "@build-gpt/lib/dist/cli/args";
import { BENCH_COMMAND } from "../bench/src/main";
import { BENCH_MODELS } from "../bench/src/models";
import { TRAIN_COMMAND } from "@build-gpt/lib/dist/cli/train";
import { LADDER_COMMAND } from "@build-gpt/lib/dist/cli/ladder";
import { backend } from "./helpers";

test("configs: one registry; the ladder and the benchmark read their models from it", () => {
  const names = configs.all.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, "names are unique");
  for (const rung of configs.ladder) assert.equal(rung, configs.named(rung.name));
  assert.deepEqual(configs.ladder.map((c) => c.reportedVal), [2.49, 2.4, 2.28, 2.24, 2.08, 2.06, 1.8226]);
  // The benchmark's A and B are registry configurations as they are; gpt.py's is timed at batch 8, batched attention.
  assert.equal(BENCH_MODELS[0], configs.named("notebook-final"));
  assert.equal(BENCH_MODELS[1], configs.named("nanogpt-cpu"));
  assert.deepEqual(BENCH_MODELS[2], { ...configs.named("gpt-py"), attention: "batched", batchSize: 8 });
  assert.throws(() => configs.named("gpt2"), /Unknown configuration "gpt2".*notebook-final/);
});

test("configs: a saved configuration lacking a setting added since takes it from the registry's entry", () => {
  const { microBatches: _, ...older } = configs.named("gpt-py");
  assert.deepEqual(configs.completed(older as configs.Config), configs.named("gpt-py"));
  const custom = configs.completed({ name: "mine", nEmbd: 48 } as configs.Config);
  assert.equal(custom.nEmbd, 48);
  assert.equal(custom.learningRate, 1e-3);
});

test("configs: every configuration builds its model; gpt.py's has 10,788,929 parameters at vocab 65", async () => {
  await backend();
  for (const c of configs.all) {
    if (c.nEmbd >= 384) continue; // the large ones: counted below without training
    const model = configs.build(c, 65, new Rng(1));
    assert.ok(model.numParameters() > 0, c.name);
    model.dispose();
  }
  const big = configs.build(configs.named("gpt-py"), 65, new Rng(1));
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
  assert.throws(() => parseCommand(["--dropout", "0.2x"], TRAIN_COMMAND), /a number >= 0, got "0.2x"/);
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
