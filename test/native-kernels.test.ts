/**
 * The native CPU kernels change the speed of training, not its maths: the native AdamW step equals the element-wise
 * update bit for bit, the matmul's fused multiply-adds round once where WebAssembly rounds twice, and 50 seeded steps
 * of the lecture's CPU model give the same losses on both routes (within 1e-4).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { AdamW, CharTokenizer, Dropout, GPTLanguageModel, Rng, getBatch, loadTinyShakespeare, trainStep, trainValSplit } from "@build-gpt/lib/internal";
import { dropoutMask, nativeDropout, nativeKernels, withNativeIsa, withNativeKernels, type NativeIsa } from "@build-gpt/lib/internal";
import { ISA_NAMES, backend, seededLosses, testedIsas } from "./helpers";

const skip = nativeKernels() ? false : "the native kernels do not load here";
/** The lecture notebook's final model (benchmark model A). */
const A = { nEmbd: 64, nHead: 4, nLayer: 4, blockSize: 32, attention: "batched" as const };
const BATCH = 16;

/** Trains model A from seed 1337 for `steps` steps with the native kernels on or off; returns each step's loss. */
async function trajectory(native: boolean, steps: number): Promise<{ losses: number[]; tensors: number[] }> {
  await backend("wasm");
  const tensors: number[] = [];
  const losses = await withNativeKernels(native, () => seededLosses(A, BATCH, steps, () => tensors.push(tf.memory().numTensors)));
  return { losses, tensors };
}

let wasmTrajectory: Promise<{ losses: number[]; tensors: number[] }> | undefined;
/** The WebAssembly route's 50 steps, computed once for the tests that compare with it. */
const wasmLosses = async () => (await (wasmTrajectory ??= trajectory(false, 50))).losses;

test("50 seeded steps of model A: the native kernels' losses match the WebAssembly route's within 1e-4", { skip }, async () => {
  const fast = await trajectory(true, 50);
  const reference = await wasmLosses();
  const worst = Math.max(...fast.losses.map((l, i) => Math.abs(l - reference[i])));
  assert.ok(worst <= 1e-4, `largest loss difference ${worst}`);
  console.log(`largest loss difference over 50 steps: ${worst}`);
  assert.ok(fast.losses[49] < fast.losses[0] - 0.5, "the model learns"); // from ~4.2 to ~3
  // No tensor is left behind by a step: the count is flat from the second step on.
  assert.deepEqual(new Set(fast.tensors.slice(1)).size, 1, `tensor counts ${[...new Set(fast.tensors)]}`);
});

test("the native AdamW step equals the element-wise one bit for bit, in place, and leaves shared memory alone", { skip }, async () => {
  await backend("wasm");
  // Two parameters: one that owns its memory (updated in place), one shared with a clone (the reference route).
  const run = (native: boolean) =>
    withNativeKernels(native, () => {
      const rng = new Rng(5);
      const own = tf.tidy(() => tf.variable(tf.randomNormal([37, 11], 0, 1, "float32", rng.seed())));
      const shared = tf.tidy(() => tf.variable(tf.randomNormal([5, 3], 0, 1, "float32", rng.seed())));
      const snapshot = shared.clone(); // the same memory as `shared`, which must keep its values
      const before = snapshot.dataSync().slice();
      const ownMemory = own.dataId;
      const optimizer = new AdamW([own, shared], { lr: 3e-3, weightDecay: 0.1 });
      for (let step = 0; step < 5; step++) {
        const grads = tf.tidy(() => ({ [own.name]: tf.randomNormal([37, 11], 0, 1, "float32", rng.seed()), [shared.name]: tf.randomNormal([5, 3], 0, 1, "float32", rng.seed()) }));
        optimizer.step(grads);
        tf.dispose(grads);
      }
      assert.equal(own.dataId === ownMemory, native, native ? "updated in place" : "the reference route assigns new tensors");
      assert.deepEqual(snapshot.dataSync(), before, "a clone of a parameter keeps its values");
      const out = [...own.dataSync(), ...shared.dataSync()];
      optimizer.dispose();
      tf.dispose([own, shared, snapshot]);
      return out;
    });
  const tensors = tf.memory().numTensors;
  assert.deepEqual(run(true), run(false));
  assert.equal(tf.memory().numTensors, tensors, "no tensor left behind");
});

test("without the native kernels (GPT_NATIVE=0) the backend line says so in one line", async () => {
  const script = `
    const L = require("@build-gpt/lib");
    const I = require("@build-gpt/lib/internal");
    L.initBackend().then((info) => { console.log(info.description); console.log(String(I.nativeKernels())); });`;
  const run = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, GPT_NATIVE: "0" }, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Backend: wasm .*native CPU kernels off \(GPT_NATIVE=0\)/);
  assert.match(run.stdout, /^undefined$/m);
});

/** Native dropout of a tensor of ones: the mask itself (0 or 1/(1−p)). */
function nativeMask(size: number, p: number, seed: number): Float32Array {
  return tf.tidy(() => nativeDropout(tf.ones([size]), p, seed)!.dataSync() as Float32Array);
}

test("native dropout draws the GPU route's mask bit for bit, for any size and seed", { skip }, async () => {
  await backend("wasm");
  // Sizes below and above one task (65536 elements), and not multiples of the 8-wide vectors.
  for (const [size, p, seed] of [[1, 0.5, 0], [13, 0.2, 7], [1000, 0.1, 2 ** 31 - 1], [200_003, 0.2, 1337], [70_000, 0.9, 42]]) {
    assert.deepEqual(nativeMask(size, p, seed), dropoutMask(size, p, seed), `size ${size}, p ${p}, seed ${seed}`);
  }
  const x = tf.randomNormal([3, 50, 7], 0, 1, "float32", 5);
  const y = nativeDropout(x, 0.3, 99)!;
  const mask = dropoutMask(x.size, 0.3, 99);
  const xs = x.dataSync();
  assert.deepEqual(Array.from(y.dataSync()), Array.from(xs, (v, i) => (mask[i] === 0 ? 0 : Math.fround(v * mask[i]))));
  assert.deepEqual(y.shape, x.shape);
  tf.dispose([x, y]);
});

test("native dropout's mask: keeps 1 − p of the elements, everywhere, a different mask for each seed", { skip }, async () => {
  await backend("wasm");
  const n = 1 << 20;
  for (const p of [0.1, 0.2, 0.5]) {
    const scale = Math.fround(1 / (1 - p));
    const a = nativeMask(n, p, 1);
    const b = nativeMask(n, p, 2);
    assert.ok(a.every((v) => v === 0 || v === scale), "every element is 0 or 1/(1-p)");
    // The kept fraction, over all and in each of 16 blocks, within 5 standard deviations of 1 − p.
    const blocks = 16;
    for (let k = 0; k <= blocks; k++) {
      const part = k === blocks ? a : a.subarray((k * n) / blocks, ((k + 1) * n) / blocks);
      const kept = part.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0) / part.length;
      const sigma = Math.sqrt((p * (1 - p)) / part.length);
      assert.ok(Math.abs(kept - (1 - p)) < 5 * sigma, `p ${p}: kept ${kept} of block ${k}`);
    }
    // Two seeds agree on an element as often as independent draws would: p² + (1 − p)².
    const agree = a.reduce((s, v, i) => s + ((v === 0) === (b[i] === 0) ? 1 : 0), 0) / n;
    const expected = p * p + (1 - p) * (1 - p);
    assert.ok(Math.abs(agree - expected) < 5 * Math.sqrt((expected * (1 - expected)) / n), `p ${p}: seeds 1 and 2 agree on ${agree}`);
    // Neighbours are independent: the mask does not repeat with a shift of one.
    const pairs = a.reduce((s, v, i) => s + (i > 0 && v !== 0 && a[i - 1] !== 0 ? 1 : 0), 0) / (n - 1);
    assert.ok(Math.abs(pairs - (1 - p) ** 2) < 0.005, `p ${p}: kept pairs ${pairs}`);
  }
});

test("native dropout's gradient is its mask; the Dropout layer runs it, and the WebAssembly route is unchanged without it", { skip }, async () => {
  await backend("wasm");
  const x = tf.randomNormal([4, 33], 0, 1, "float32", 3);
  const grad = tf.grad((t: tf.Tensor) => nativeDropout(t, 0.25, 11)!.sum())(x);
  assert.deepEqual(grad.dataSync(), dropoutMask(x.size, 0.25, 11));
  // The layer: its seed comes from initWeights' rng (one seed() for its stream, then one per call).
  const layer = new Dropout(0.25).initWeights(new Rng(8));
  const seed = new Rng(new Rng(8).seed()).seed();
  const native = layer.forward(x);
  assert.deepEqual(native.dataSync(), nativeDropout(x, 0.25, seed)!.dataSync());
  const off = withNativeKernels(false, () => {
    const again = new Dropout(0.25).initWeights(new Rng(8));
    return again.forward(x);
  });
  const reference = tf.dropout(x, 0.25, undefined, seed); // the route before: tf.dropout, the same seed
  assert.deepEqual(off.dataSync(), reference.dataSync());
  assert.equal(withNativeKernels(false, () => nativeDropout(x, 0.25, seed)), undefined);
  tf.dispose([x, grad, native, off, reference]);
});

/** In a fresh process with GPT_THREADS=threads: 8 seeded steps of a small model with dropout 0.2, and a large mask's checksum. */
function seededRunIn(threads: number): { status: string; losses: number[]; checksum: number } {
  const script = `
    const tf = require("@tensorflow/tfjs");
    const L = require("@build-gpt/lib");
    const I = require("@build-gpt/lib/internal");
    (async () => {
      await L.initBackend("wasm");
      const text = await L.loadTinyShakespeare();
      const tok = L.CharTokenizer.fromText(text);
      const { train } = L.trainValSplit(tok.encode(text));
      const rng = new L.Rng(1337);
      const model = new L.GPTLanguageModel({ vocabSize: tok.vocabSize, nEmbd: 32, nHead: 4, nLayer: 2, blockSize: 16, dropout: 0.2, attention: "batched" }, rng);
      const opt = new L.AdamW(model.parameters(), { lr: 1e-3 });
      const losses = [];
      for (let i = 0; i < 8; i++) {
        const { x, y } = L.getBatch(train, 8, 16, rng);
        losses.push(await L.trainStep(model, opt, x, y));
        tf.dispose([x, y]);
      }
      const mask = tf.tidy(() => I.nativeDropout(tf.ones([1 << 19]), 0.2, 77).dataSync());
      let checksum = 0;
      mask.forEach((v, i) => { if (v !== 0) checksum = (checksum * 31 + i) % 1000000007; });
      console.log(JSON.stringify({ status: I.nativeKernelsStatus(), losses, checksum }));
    })();`;
  const run = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, GPT_THREADS: String(threads) }, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split("\n").pop()!);
}

test("dropout is reproducible: the same seed gives the same masks and losses on every run and any thread count", { skip }, () => {
  const one = seededRunIn(1);
  const two = seededRunIn(2);
  const twoAgain = seededRunIn(2);
  assert.match(one.status, /1 threads/);
  assert.match(two.status, new RegExp(`${Math.min(2, availableParallelism())} threads`)); // 1 on a one-core machine
  assert.deepEqual(two, twoAgain);
  assert.deepEqual(one.losses, two.losses);
  assert.equal(one.checksum, two.checksum);
  assert.ok(one.losses.every((l) => Number.isFinite(l) && l > 3 && l < 5), `losses ${one.losses}`);
});

/**
 * The native matmul's arithmetic, in JavaScript: in order of k from zero, each product added with one rounding where
 * the instruction set fuses multiply-adds (a float32 product is exact in a double, and the sum is rounded to float32),
 * else with two (the product rounded to float32 first: the portable kernels where the compiler targets no fused
 * multiply-add). Returns the products and, per element, the sum of |a·b| (the scale of its rounding error).
 */
function referenceMatMul(a: Float32Array, b: Float32Array, batchA: number, batchB: number, M: number, K: number, N: number, transA: boolean, transB: boolean, fused: boolean): { c: Float32Array; scale: Float64Array } {
  const batch = Math.max(batchA, batchB);
  const c = new Float32Array(batch * M * N);
  const scale = new Float64Array(batch * M * N);
  for (let s = 0; s < batch; s++) {
    const ao = batchA === 1 ? 0 : s * M * K;
    const bo = batchB === 1 ? 0 : s * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        let abs = 0;
        for (let k = 0; k < K; k++) {
          const x = a[ao + (transA ? k * M + i : i * K + k)];
          const y = b[bo + (transB ? j * K + k : k * N + j)];
          sum = Math.fround(sum + (fused ? x * y : Math.fround(x * y)));
          abs += Math.abs(x * y);
        }
        c[s * M * N + i * N + j] = sum;
        scale[s * M * N + i * N + j] = abs;
      }
    }
  }
  return { c, scale };
}

const isas = nativeKernels() ? testedIsas(nativeKernels()!) : [];
/** Whether an instruction set's matmul fuses its multiply-adds: the AVX paths always, the portable one where compiled to. */
const fuses = (isa: NativeIsa) => isa !== "portable" || nativeKernels()!.portableFma;

test(`the matmul on ${isas.join(", ")}: the reference's products within rounding, the same bits where the arithmetic is the same`, { skip }, () => {
  const rng = new Rng(21);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  // Shapes around the tiles (6 x 16 for AVX2 and portable, 12 x 32 for AVX-512), batched, shared, transposed (a long
  // K transposed first), and large enough to be split across threads.
  const shapes = [
    [1, 1, 1, 1, 1], [1, 1, 7, 5, 3], [1, 1, 13, 17, 33], [4, 4, 12, 32, 32], [3, 1, 25, 64, 31], [1, 3, 11, 9, 65],
    [8, 8, 32, 16, 32], [1, 1, 96, 64, 200], [2, 2, 130, 70, 47], [3, 1, 40, 300, 20], [1, 1, 70, 1030, 33],
  ];
  let cases = 0;
  for (const [batchA, batchB, M, K, N] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = random(batchA * M * K);
        const b = random(batchB * K * N);
        const what = `(${batchA}|${batchB}, ${M}, ${K}, ${N}) transA ${transA} transB ${transB}`;
        const results = isas.map((isa) => {
          const expected = referenceMatMul(a, b, batchA, batchB, M, K, N, transA, transB, fuses(isa));
          const c = new Float32Array(expected.c.length).fill(NaN);
          withNativeIsa(isa, () => {
            assert.equal(nativeKernels()!.isa(), ISA_NAMES[isa]);
            nativeKernels()!.matmul(a, b, c, batchA, batchB, M, K, N, Number(transA), Number(transB));
          });
          // The reference emulates the arithmetic, except that it rounds each sum twice (to a double, then to float32),
          // which can differ from one rounding by an ulp: 1e-6 of the sum of |a·b| is many ulps of any partial sum.
          const bad = c.findIndex((v, i) => !(Math.abs(v - expected.c[i]) <= 1e-6 * expected.scale[i]));
          assert.equal(bad, -1, `${isa}, ${what}: element ${bad} is ${c[bad]}, expected ${expected.c[bad]}`);
          cases++;
          return { isa, c: Array.from(c) };
        });
        for (const other of results.slice(1)) {
          if (fuses(other.isa) === fuses(results[0].isa)) assert.deepEqual(other.c, results[0].c, `${other.isa} and ${results[0].isa} differ, ${what}`);
        }
      }
    }
  }
  assert.equal(cases, shapes.length * 4 * isas.length);
});

test("a transposed product sums A as it reads it: the bits of sumRows, on every instruction set; misuse is an error", { skip }, () => {
  const rng = new Rng(5);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  // A stored (K, M): M around the tiles' heights (6, 12), small (one thread) and large (split across threads).
  for (const [M, K, N] of [[1, 1, 1], [5, 7, 3], [13, 40, 17], [64, 512, 256], [256, 512, 64], [65, 512, 64]]) {
    const a = random(K * M);
    const b = random(K * N);
    a[3 % a.length] = -0;
    const expected = new Float32Array(M);
    nativeKernels()!.sumRows(a, expected, K, M);
    for (const isa of isas) {
      const product = new Float32Array(M * N);
      const sums = new Float32Array(M).fill(NaN);
      const c = new Float32Array(M * N).fill(NaN);
      withNativeIsa(isa, () => {
        nativeKernels()!.matmul(a, b, product, 1, 1, M, K, N, 1, 0);
        nativeKernels()!.matmul(a, b, c, 1, 1, M, K, N, 1, 0, undefined, 0, sums);
      });
      assert.ok(sums.every((v, i) => Object.is(v, expected[i])), `${isa} (${M}, ${K}, ${N}): the sums`);
      assert.deepEqual(Array.from(c), Array.from(product), `${isa} (${M}, ${K}, ${N}): the product is unchanged`);
    }
  }
  const x = new Float32Array(6);
  assert.throws(() => nativeKernels()!.matmul(x, x, new Float32Array(4), 1, 1, 2, 3, 2, 0, 0, undefined, 0, new Float32Array(2)), /sums of A need transA/);
  assert.throws(() => nativeKernels()!.matmul(x, x, new Float32Array(4), 1, 1, 2, 3, 2, 1, 0, undefined, 0, new Float32Array(3)), /must have M values/);
});

// The portable kernels differ from the AVX paths only in how the matmul and attention round (simd.h, MulAdd), so
// they are held to the WebAssembly route by the AVX paths' tolerance.
test("50 seeded steps of model A on the portable kernels: the WebAssembly route's losses within 1e-4", { skip: skip || (isas.includes("portable") ? false : `this run tests ${isas.join(", ")} only`) }, async () => {
  const portable = await withNativeIsa("portable", () => trajectory(true, 50));
  const reference = await wasmLosses();
  const worst = Math.max(...portable.losses.map((l, i) => Math.abs(l - reference[i])));
  console.log(`portable kernels${nativeKernels()!.portableFma ? " (fused multiply-adds)" : ""}: largest loss difference over 50 steps ${worst}`);
  assert.ok(worst <= 1e-4, `largest loss difference ${worst}`);
  assert.ok(portable.losses[49] < portable.losses[0] - 0.5, "the model learns");
});

test("50 seeded steps of model A give the same losses with the matmul on AVX-512 and on AVX2", { skip: skip || (isas.includes("avx512") && isas.includes("avx2") ? false : `this run tests ${isas.join(", ")} only`) }, async () => {
  const fast = await withNativeIsa("avx512", () => trajectory(true, 50));
  const older = await withNativeIsa("avx2", () => trajectory(true, 50));
  assert.deepEqual(fast.losses, older.losses);
});

test("the backend line names the instruction set; GPT_NATIVE_ISA=avx2 or portable forces that path, a typo is an error", { skip }, () => {
  const script = `require("@build-gpt/lib").initBackend().then((info) => console.log(info.description), (e) => { console.log("error: " + e.message); });`;
  const line = (isa?: string) => {
    const env = { ...process.env };
    if (isa === undefined) delete env.GPT_NATIVE_ISA;
    else env.GPT_NATIVE_ISA = isa;
    const run = spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  };
  const best = nativeKernels()!.avx512 ? "AVX-512" : nativeKernels()!.avx2 ? "AVX2" : "portable";
  assert.match(line(), new RegExp(`native CPU kernels \\(${best}, \\d+ threads`));
  if (nativeKernels()!.avx2) assert.match(line("avx2"), /native CPU kernels \(AVX2, \d+ threads/);
  else assert.match(line("avx2"), /native CPU kernels \(portable, \d+ threads; GPT_NATIVE_ISA=avx2, but this CPU has no AVX2 and FMA/);
  assert.match(line("portable"), best === "portable" ? /native CPU kernels \(portable, \d+ threads\)/ : new RegExp(`native CPU kernels \\(portable, \\d+ threads; ${best} available, GPT_NATIVE_ISA=portable\\)`));
  assert.match(line("sse9"), /error: GPT_NATIVE_ISA="sse9" is not an instruction set: use avx512, avx2, portable or auto/);
});

test("a kernel whose scratch space cannot be allocated throws a JavaScript error; the process goes on", { skip: nativeKernels() ? false : "the native kernels do not load here" }, () => {
  const k = nativeKernels()!;
  const T = 1_000_000; // the attention kernel's scratch is T × T floats a thread: 4 TB
  const qkv = new Float32Array(T * 3);
  const y = new Float32Array(T);
  assert.throws(() => k.causalAttention(qkv, y, 1, T, 1, 1, 1, 0, 0), /native CPU kernels: out of memory for a kernel's scratch space/);
  const a = Float32Array.of(1, 2);
  const c = new Float32Array(1);
  k.matmul(a, Float32Array.of(3, 4), c, 1, 1, 1, 2, 1, 0, 0);
  assert.equal(c[0], 11, "the kernels still work after the failure");
});
