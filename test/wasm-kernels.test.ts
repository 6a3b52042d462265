/** The repaired wasm kernels compute what the reference cpu backend computes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@build-gpt/lib/internal";
import { nativeKernels, withNativeKernels } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

/** Runs `f` on seeded inputs on the cpu backend and on wasm; returns both results as flat arrays. */
async function onBoth(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<[number[], number[]]> {
  const results: number[][] = [];
  for (const name of ["cpu", "wasm"] as const) {
    await backend(name);
    const rng = new Rng(11);
    const inputs = shapes.map((s) => tf.randomNormal(s, 0, 1, "float32", rng.seed()));
    const out = [f(...inputs)].flat();
    results.push(out.flatMap((t) => Array.from(t.dataSync())));
    tf.dispose([...inputs, ...out]);
  }
  await backend("wasm");
  return [results[0], results[1]];
}

function assertAllClose(a: number[], b: number[], tol = 1e-4): void {
  assert.equal(a.length, b.length);
  const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  assert.ok(worst <= tol, `largest difference ${worst}`);
}

const cases: [string, number[], number[], boolean, boolean][] = [
  ["plain 2-D", [33, 17], [17, 29], false, false],
  ["transposed a", [17, 33], [17, 29], true, false],
  ["transposed b", [33, 17], [29, 17], false, true],
  ["both transposed", [17, 33], [29, 17], true, true],
  ["batched, shared right operand", [4, 8, 16], [16, 24], false, false],
  ["batched both, small (scalar path)", [6, 8, 8], [6, 8, 4], false, false],
  ["batched both, large (sliced)", [6, 32, 24], [6, 24, 32], false, false],
  ["batched both, transposed b (q·kᵀ)", [2, 3, 32, 16], [2, 3, 32, 16], false, true],
  ["batched both, transposed a", [5, 24, 32], [5, 24, 40], true, false],
  ["4-D, small, transposed b", [3, 4, 16, 8], [3, 4, 16, 8], false, true],
  ["broadcast batch (1 vs 3)", [1, 8, 16], [3, 16, 8], false, false],
  ["general broadcast (2,1) vs (1,3)", [2, 1, 8, 16], [1, 3, 16, 8], false, false],
];
// Both wasm routes: the native kernels (where they load) and the WebAssembly ones.
const native = nativeKernels() !== undefined;
const routes = [
  { route: "native kernels", on: true, skip: native ? false : "the native kernels do not load here" },
  { route: "WebAssembly kernels", on: false, skip: false },
] as const;

for (const { route, on, skip } of routes) {
  for (const [name, aShape, bShape, ta, tb] of cases) {
    test(`BatchMatMul on wasm (${route}) equals cpu: ${name}`, { skip }, async () => {
      const [cpu, wasm] = await withNativeKernels(on, () => onBoth([aShape, bShape], (a, b) => tf.matMul(a, b, ta, tb)));
      assertAllClose(cpu, wasm);
    });
  }
  test(`Sum over leading axes on wasm (${route}) equals cpu`, { skip }, async () => {
    const [cpu, wasm] = await withNativeKernels(on, () =>
      onBoth([[5, 7, 19]], (x) => [x.sum(0), x.sum([0, 1]), x.sum([1, 0], true), x.sum(-1), x.sum([0, 2]), x.sum()]),
    );
    assertAllClose(cpu, wasm, 1e-4);
  });
}

test("the native matmul spreads a large product over threads and still equals cpu", { skip: native ? false : "no native kernels" }, async () => {
  // Large enough to be split into tasks for every thread; uneven edges (rows % 6, columns % 16).
  const [cpu, wasm] = await onBoth([[3, 97, 70], [3, 70, 83]], (a, b) => tf.matMul(a, b));
  assertAllClose(cpu, wasm, 1e-3);
});

test("embedding lookups (GatherV2 along axis 0) on wasm equal cpu, and a bad index is a clear error", async () => {
  const [cpu, wasm] = await onBoth([[10, 6]], (table) => {
    const idx = tf.tensor2d([[1, 2, 2], [9, 0, 1]], [2, 3], "int32");
    const out = tf.gather(table, idx);
    idx.dispose();
    return out;
  });
  assert.deepEqual(cpu, wasm);
  const table = tf.zeros([4, 2]);
  const bad = tf.tensor1d([0, 4], "int32");
  const before = tf.memory().numTensors;
  assert.throws(() => tf.gather(table, bad), /index value 4 is not in \[0, 3\]/);
  assert.equal(tf.memory().numTensors, before, "the failed lookup left no tensor behind");
  // An int32 table (rows of 3): each row's bytes copied as they are.
  const ints = tf.tensor2d([[1, -2, 3], [2147483647, -2147483648, 0]], [2, 3], "int32");
  const rows = tf.tensor1d([1, 0, 1], "int32");
  const picked = tf.gather(ints, rows);
  assert.equal(picked.dtype, "int32");
  assert.deepEqual(Array.from(picked.dataSync()), [2147483647, -2147483648, 0, 1, -2, 3, 2147483647, -2147483648, 0]);
  tf.dispose([table, bad, ints, rows, picked]);
});

test("matMul gradients on wasm equal cpu", async () => {
  const [cpu, wasm] = await onBoth([[3, 10, 12], [3, 12, 14]], (a, b) => {
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).square().sum());
    return g([a, b]);
  });
  assertAllClose(cpu, wasm, 1e-3);
});

test("the gradient of gather (UnsortedSegmentSum) on wasm equals cpu, repeated indices summed", async () => {
  const [cpu, wasm] = await onBoth([[10, 6]], (table) => {
    const idx = tf.tensor2d([[1, 2, 2], [9, 1, 1]], [2, 3], "int32");
    const g = tf.grad((t: tf.Tensor) => tf.gather(t, idx).mul(tf.range(0, 36).reshape([2, 3, 6])).sum())(table);
    idx.dispose();
    return g;
  });
  assertAllClose(cpu, wasm, 1e-5);
  assert.notEqual(cpu[6 * 2], 0); // row 2 received gradient
});
