import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { getBatch, trainValSplit, Rng } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const data = Int32Array.from({ length: 1000 }, (_, i) => i); // token i at position i: offsets are easy to read

test("the split keeps the first 90% for training and the rest for validation", () => {
  const { train, val } = trainValSplit(data, 0.9);
  assert.equal(train.length, 900);
  assert.equal(val.length, 100);
  assert.equal(train[899], 899);
  assert.equal(val[0], 900);
});

test("getBatch returns (B, T) int32 inputs and targets shifted one step", async () => {
  await backend();
  const { x, y } = getBatch(data, 4, 8, new Rng(1));
  assert.deepEqual(x.shape, [4, 8]);
  assert.deepEqual(y.shape, [4, 8]);
  assert.equal(x.dtype, "int32");
  const xs = x.arraySync();
  const ys = y.arraySync();
  for (let b = 0; b < 4; b++) {
    for (let t = 0; t < 8; t++) assert.equal(ys[b][t], xs[b][t] + 1); // y = data[i+1 : i+T+1]
    for (let t = 1; t < 8; t++) assert.equal(xs[b][t], xs[b][t - 1] + 1); // a contiguous chunk
    assert.ok(xs[b][0] >= 0 && xs[b][0] < data.length - 8);
  }
  tf.dispose([x, y]);
});

test("the same seed gives the same batches; another seed, other batches", async () => {
  await backend();
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return [0, 1, 2].map(() => {
      const { x, y } = getBatch(data, 4, 8, rng);
      const v = x.arraySync();
      tf.dispose([x, y]);
      return v;
    });
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test("bad batch arguments are clear errors", () => {
  assert.throws(() => getBatch(data, 0, 8, new Rng()), /batchSize must be a positive integer/);
  assert.throws(() => getBatch(data, 4, 0, new Rng()), /blockSize must be a positive integer/);
  assert.throws(() => getBatch(data.subarray(0, 8), 4, 8, new Rng()), /too short for blockSize 8/);
});

test("Rng.sample follows the distribution it is given", () => {
  const rng = new Rng(7);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30_000; i++) counts[rng.sample([0.2, 0.5, 0.3])]++;
  assert.ok(Math.abs(counts[0] / 30_000 - 0.2) < 0.01);
  assert.ok(Math.abs(counts[1] / 30_000 - 0.5) < 0.01);
  assert.ok(Math.abs(counts[2] / 30_000 - 0.3) < 0.01);
});
