/**
 * The fused kernels (lib/src/engine/fused-kernels.ts) and the native copies (Transpose, SplitV, Concat, Identity,
 * Cast; lib/src/engine/wasm-kernels.ts) change the speed of training, not its maths. Each fused kernel is held to its
 * reference route (the op-by-op maths of lib/src/nn, GPT_FUSED=0), forward and backward; the copies to the cpu
 * backend bit for bit; and seeded training to the unfused route's losses (1e-5 for 10 steps, 1e-4 for 50), all of them
 * together and one at a time (the same bits where a kernel's arithmetic is its reference route's).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { CausalSelfAttention, LayerNorm, Linear, Rng, causalSoftmax, crossEntropy } from "@build-gpt/lib/internal";
import { fusedCausalAttention, fusedCausalSoftmax, fusedCrossEntropy, fusedLayerNorm, nativeKernels, withFusedKernels, withNativeIsa } from "@build-gpt/lib/internal";
import { backend, seededLosses, testedIsas } from "./helpers";

const skip = nativeKernels() ? false : "the native kernels do not load here";

/** f's outputs with the fused kernels on and off, read back; f runs inside a tidy. */
function bothRoutes(f: () => tf.Tensor[]): { fused: Float32Array[]; reference: Float32Array[] } {
  const run = (on: boolean) => withFusedKernels(on, () => tf.tidy(() => f().map((t) => t.dataSync() as Float32Array)));
  return { fused: run(true), reference: run(false) };
}

function assertClose(what: string, a: Float32Array, b: Float32Array, tolerance: number): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) assert.ok(Number.isNaN(a[i]) && Number.isNaN(b[i]), `${what}[${i}]: ${a[i]} against ${b[i]}`);
    else worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  assert.ok(worst <= tolerance, `${what}: largest difference ${worst} (allowed ${tolerance})`);
}

/** Runs f and checks that it leaves no tensor behind. */
function noLeak(f: () => void): void {
  const before = tf.memory().numTensors;
  f();
  assert.equal(tf.memory().numTensors, before, "tensors left behind");
}

test("the fused kernels run on wasm with the native kernels, and not when switched off", { skip }, async () => {
  await backend("wasm");
  tf.tidy(() => {
    const x = tf.randomNormal([2, 4, 4]);
    assert.ok(fusedCausalSoftmax(x) !== undefined);
    assert.equal(withFusedKernels(false, () => fusedCausalSoftmax(x)), undefined);
    assert.equal(fusedCrossEntropy(tf.zeros([3, 5]) as tf.Tensor2D, tf.tensor1d([0, 1, 2], "float32")), undefined, "float targets: the reference route");
  });
});

test("GPT_FUSED=0 switches the fused kernels off; a value that is not yes or no is an error that says what to use", { skip }, () => {
  const script = `
    const L = require("@build-gpt/lib");
    const I = require("@build-gpt/lib/internal");
    const tf = require("@tensorflow/tfjs");
    L.initBackend("wasm").then(() => {
      try {
        const x = tf.zeros([1, 2, 2]);
        console.log(I.fusedCausalSoftmax(x) === undefined ? "off" : "on");
      } catch (e) { console.log("error: " + e.message); }
    });`;
  const run = (value: string) => spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env, GPT_FUSED: value } }).stdout.trim();
  assert.equal(run("0"), "off");
  assert.equal(run("1"), "on");
  assert.match(run("maybe"), /^error: GPT_FUSED="maybe" is not a yes\/no value: use 1\/0/);
});

for (const shape of [[5, 64], [2, 7, 37], [3, 1], [2, 3, 4, 129]]) {
  test(`LayerNorm fused on (${shape}): forward and gradients equal the reference route`, { skip }, async () => {
    await backend("wasm");
    const C = shape[shape.length - 1];
    noLeak(() => {
      const { fused, reference } = bothRoutes(() => {
        const rng = new Rng(C);
        const ln = new LayerNorm(C);
        ln.weight.assign(tf.randomNormal([C], 1, 0.5, "float32", rng.seed()));
        ln.bias.assign(tf.randomNormal([C], 0, 0.5, "float32", rng.seed()));
        const x = tf.variable(tf.randomNormal(shape, 3, 2, "float32", rng.seed())); // not centred: the mean matters
        const dy = tf.randomNormal(shape, 0, 1, "float32", rng.seed());
        const y = ln.forward(x);
        // The gradients of sum(LayerNorm(x) * dy): dy is the upstream gradient.
        const { grads } = tf.variableGrads(() => ln.forward(x).mul(dy).sum() as tf.Scalar, [x, ln.weight, ln.bias]);
        const [dx, dw, db] = [x, ln.weight, ln.bias].map((v) => grads[v.name]);
        x.dispose();
        ln.dispose();
        return [y, dx, dw, db];
      });
      ["y", "dx", "dweight", "dbias"].forEach((name, i) => assertClose(name, fused[i], reference[i], 2e-5));
    });
  });
}

for (const shape of [[2, 3, 9, 9], [4, 37, 37], [1, 1]]) {
  test(`causal softmax fused on (${shape}): forward and gradient equal the reference route, the future exactly 0`, { skip }, async () => {
    await backend("wasm");
    noLeak(() => {
      const { fused, reference } = bothRoutes(() => {
        const rng = new Rng(shape.length);
        const x = tf.randomNormal(shape, 0, 3, "float32", rng.seed());
        const dy = tf.randomNormal(shape, 0, 1, "float32", rng.seed());
        const y = causalSoftmax(x);
        const dx = tf.grad((s: tf.Tensor) => causalSoftmax(s))(x, dy);
        return [y, dx];
      });
      assertClose("wei", fused[0], reference[0], 1e-6);
      assertClose("dscores", fused[1], reference[1], 1e-6);
      const T = shape[shape.length - 1];
      fused[0].forEach((v, i) => {
        if (i % T > Math.floor(i / T) % T) assert.equal(v, 0, `weight above the diagonal at ${i}`);
      });
    });
  });
}

test("cross-entropy fused: the loss and its gradient equal the reference route; a bad target is NaN on both", { skip }, async () => {
  await backend("wasm");
  noLeak(() => {
    for (const [N, V] of [[7, 65], [256, 65], [3, 1000]]) {
      const { fused, reference } = bothRoutes(() => {
        const rng = new Rng(N);
        const logits = tf.randomNormal([N, V], 0, 4, "float32", rng.seed()) as tf.Tensor2D;
        const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7) % V), "int32");
        const loss = crossEntropy(logits, targets);
        const dlogits = tf.grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor2D, targets).mul(3))(logits);
        return [loss, dlogits];
      });
      assertClose(`loss (${N}, ${V})`, fused[0], reference[0], 1e-5);
      assertClose(`dlogits (${N}, ${V})`, fused[1], reference[1], 1e-7);
    }
    const { fused, reference } = bothRoutes(() => [crossEntropy(tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor1d([1, 4], "int32"))]);
    assert.ok(Number.isNaN(fused[0][0]) && Number.isNaN(reference[0][0]), `bad target: ${fused[0][0]} and ${reference[0][0]}`);
  });
});

// Input shape, out features, bias: a Linear on (B, T, C), on rows, on one vector; with and without a bias.
for (const [shape, out, bias] of [[[4, 8, 24], 40, true], [[7, 5], 3, false], [[6], 11, true], [[2, 3, 4, 16], 16, false]] as const) {
  test(`Linear fused on (${shape}) -> ${out}${bias ? "" : ", no bias"}: output and gradients equal the reference route bit for bit`, { skip }, async () => {
    await backend("wasm");
    noLeak(() => {
      const { fused, reference } = bothRoutes(() => {
        const rng = new Rng(out);
        const layer = new Linear(shape[shape.length - 1], out, { bias }).initWeights(rng);
        const x = tf.variable(tf.randomNormal([...shape], 0, 1, "float32", rng.seed()));
        const dy = tf.randomNormal([...shape.slice(0, -1), out], 0, 1, "float32", rng.seed());
        const params = [x, ...layer.parameters()];
        const y = layer.forward(x);
        const { grads } = tf.variableGrads(() => layer.forward(x).mul(dy).sum() as tf.Scalar, params);
        const result = [y, ...params.map((v) => grads[v.name])];
        x.dispose();
        layer.dispose();
        return result;
      });
      assert.equal(fused.length, bias ? 4 : 3);
      fused.forEach((f, i) => assertClose(["y", "dx", "dweight", "dbias"][i], f, reference[i], 0));
    });
  });
}

// relu(Linear(x)), FeedForward's first layer: the fused Linear, then the native Relu, the bits of the reference route, on
// every instruction set; a NaN in x (its row's outputs NaN, their gradient NaN) and a row of zeros (outputs the bias).
for (const isa of nativeKernels() ? testedIsas(nativeKernels()!) : []) {
  test(`Linear then ReLU on the fast route (${isa}): output and gradients equal the reference route's bit for bit, NaN and zeros too`, { skip }, async () => {
    await backend("wasm");
    noLeak(() => withNativeIsa(isa, () => {
      const { fused, reference } = bothRoutes(() => {
        const rng = new Rng(7);
        const layer = new Linear(24, 40).initWeights(rng);
        const x0 = tf.randomNormal([3, 8, 24], 0, 1, "float32", rng.seed()).bufferSync();
        x0.set(NaN, 0, 2, 5);
        for (let c = 0; c < 24; c++) x0.set(0, 1, 3, c);
        const x = tf.variable(x0.toTensor());
        const dy = tf.randomNormal([3, 8, 40], 0, 1, "float32", rng.seed());
        const params = [x, ...layer.parameters()];
        const y = tf.relu(layer.forward(x));
        const { grads } = tf.variableGrads(() => tf.relu(layer.forward(x)).mul(dy).sum() as tf.Scalar, params);
        const result = [y, ...params.map((v) => grads[v.name])];
        x.dispose();
        layer.dispose();
        return result;
      });
      assert.ok(fused[0].some((v) => v === 0) && fused[0].some(Number.isNaN), "the case has zeros and NaNs");
      fused.forEach((f, i) => {
        assertClose(["y", "dx", "dweight", "dbias"][i], f, reference[i], 0);
        assert.ok(f.every((v, j) => Object.is(v, reference[i][j]) || (Number.isNaN(v) && Number.isNaN(reference[i][j]))), `${i}: the same signs of zero`);
      });
    }));
  });
}

// B, T, C, heads, dropout: heads of 16 (model A), of 4 and 5 channels (not whole vectors), T not a multiple of 8, T = 1.
for (const [B, T, C, nh, p] of [[3, 32, 64, 4, 0], [2, 13, 12, 3, 0], [2, 9, 20, 4, 0.3], [1, 1, 8, 2, 0], [2, 40, 96, 2, 0.2]]) {
  test(`causal attention fused (B ${B}, T ${T}, C ${C}, ${nh} heads, dropout ${p}): output and gradients equal the reference route`, { skip }, async () => {
    await backend("wasm");
    noLeak(() => {
      const { fused, reference } = bothRoutes(() => {
        const rng = new Rng(T * C);
        const attn = new CausalSelfAttention(C, nh, { dropout: p }).initWeights(rng); // the same seeds on both routes
        attn.residDropout.eval(); // only the weights' dropout is fused
        const x = tf.variable(tf.randomNormal([B, T, C], 0, 1, "float32", rng.seed()));
        const dy = tf.randomNormal([B, T, C], 0, 1, "float32", rng.seed());
        const y = attn.forward(x as tf.Tensor3D);
        const params = [x, attn.cAttn.weight, attn.cProj.weight];
        const { grads } = tf.variableGrads(() => attn.forward(x as tf.Tensor3D).mul(dy).sum() as tf.Scalar, params);
        const out = [y, ...params.map((v) => grads[v.name])];
        x.dispose();
        attn.dispose();
        return out;
      });
      ["y", "dx", "dc_attn", "dc_proj"].forEach((name, i) => assertClose(name, fused[i], reference[i], 2e-5));
    });
  });
}

test("causal attention: the fused route runs only without hooks, and equals the hooked route (op by op, fused softmax) bit for bit", { skip }, async () => {
  await backend("wasm");
  noLeak(() => tf.tidy(() => {
    const attn = new CausalSelfAttention(32, 4, { dropout: 0.25 }).initWeights(new Rng(3));
    const x = tf.variable(tf.randomNormal([2, 11, 32], 0, 1, "float32", 4));
    const qkv = attn.cAttn.forward(x as tf.Tensor3D);
    assert.ok(fusedCausalAttention(qkv, 4, 0.25, () => undefined) !== undefined);
    assert.equal(fusedCausalAttention(qkv, 5, 0.25, () => undefined), undefined, "3C not divisible into 5 heads: the reference route");
    // Output and gradients of one training-mode pass (dropout on the weights included), from a fresh copy of the
    // dropout streams each time: the same masks on both routes.
    const run = (hooked: boolean) => {
      const copy = new CausalSelfAttention(32, 4, { dropout: 0.25 }).initWeights(new Rng(3));
      copy.residDropout.eval();
      let seen = 0;
      const remove = hooked ? copy.onAttention((w) => { seen = w.shape[1]; }) : () => {};
      const params = [x, copy.cAttn.weight, copy.cProj.weight];
      const { value, grads } = tf.variableGrads(() => copy.forward(x as tf.Tensor3D).square().sum() as tf.Scalar, params);
      remove();
      const out = [value, ...params.map((v) => grads[v.name])].map((t) => t.dataSync() as Float32Array);
      copy.dispose();
      return { out, seen };
    };
    const fused = run(false);
    const hooked = run(true);
    assert.equal(hooked.seen, 4, "the hook got (B, nh, T, T) weights");
    assert.equal(fused.seen, 0);
    ["loss", "dx", "dc_attn", "dc_proj"].forEach((name, i) => assertClose(name, fused.out[i], hooked.out[i], 0));
    x.dispose();
    attn.dispose();
  }));
});

test("Transpose, SplitV, Concat, Identity and Cast on wasm equal cpu bit for bit", { skip }, async () => {
  const cases = (): tf.Tensor[] => {
    const x = tf.tensor(Array.from({ length: 2 * 5 * 3 * 4 }, (_, i) => i * 0.37 - 9), [2, 5, 3, 4]);
    return [
      x.transpose([0, 2, 1, 3]), x.transpose([2, 0, 1, 3]), x.transpose([3, 2, 1, 0]), x.transpose([0, 1, 3, 2]),
      ...tf.split(x, 3, 2), ...tf.split(x, [1, 3, 1], 1), ...tf.split(x, [2, 2], -1), ...tf.split(x, 2, 0),
      tf.concat(tf.split(x, [1, 2, 1], -1), -1), tf.concat([x, x.mul(2)], 1), tf.concat([x, tf.zeros([2, 5, 0, 4])], 2),
      tf.concat([x.slice([0], [1]), x], 0), x.clone(), x.cast("float32"), x.cast("int32"),
    ];
  };
  await backend("cpu");
  const expected = tf.tidy(() => cases().map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
  await backend("wasm");
  noLeak(() => {
    const got = tf.tidy(() => cases().map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
    assert.deepEqual(got, expected);
  });
  // A clone shares the memory, and outlives its source: disposing one leaves the other intact.
  const x = tf.tensor([1, 2, 3]);
  const y = x.clone();
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  y.dispose();
});

test("Add, Multiply, Relu, Step and Relu's gradient on wasm equal cpu bit for bit (broadcasts, NaN, -0 included)", { skip }, async () => {
  const cases = (): tf.Tensor[] => {
    const values = Array.from({ length: 3 * 4 * 5 }, (_, i) => (i % 7 === 0 ? -0 : Math.sin(i) * 3));
    values[11] = NaN;
    const x = tf.tensor(values, [3, 4, 5]);
    const y = tf.tensor(values.map((v) => v * 0.7 - 1), [3, 4, 5]);
    const bias = tf.tensor([0.5, -1, 2, 0, 3]);
    const big = tf.tensor(Array.from({ length: 70000 }, (_, i) => Math.cos(i)), [700, 100]); // several tasks
    return [
      x.add(y), x.mul(y), x.add(bias), bias.add(x), x.mul(bias), x.mul(2.5), tf.scalar(-1).mul(x),
      x.add(tf.ones([1, 4, 5])), x.add(tf.ones([4, 1])), x.add(tf.ones([1, 1, 3, 4, 5])),
      tf.relu(x), tf.step(x), tf.step(x, 0.3), big.add(big), big.mul(big.slice([0], [1])), tf.relu(big), tf.step(big),
      tf.grad((t: tf.Tensor) => tf.relu(t))(x, y), tf.grad((t: tf.Tensor) => tf.relu(t))(big, big.mul(-1)), // relu's gradient
    ];
  };
  await backend("cpu");
  // Compared as values with Object.is (strict deepEqual): -0 differs from 0, NaN equals NaN (whatever its payload).
  const expected = tf.tidy(() => cases().map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
  await backend("wasm");
  noLeak(() => {
    const got = tf.tidy(() => cases().map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
    got.forEach((g, i) => assert.deepEqual(g, expected[i], `case ${i}`));
  });
});

for (const [name, config, batch] of [
  ["model A (the notebook's final model)", { nEmbd: 64, nHead: 4, nLayer: 4, blockSize: 32 }, 16],
  ["a model with dropout 0.2", { nEmbd: 48, nHead: 3, nLayer: 2, blockSize: 24, dropout: 0.2 }, 8],
] as const) {
  // Any change of rounding (the matmul's fused multiply-adds against WebAssembly's, as much as these kernels) grows
  // over training: AdamW divides each gradient by its running size, so a last-bit difference in a tiny gradient moves
  // a weight as far as a large one. The losses agree within 1e-5 at first, and within 1e-4 (the native route's
  // tolerance against WebAssembly, native-kernels.test.ts) after 50 steps.
  test(`50 seeded steps of ${name}: the fused kernels' losses are the unfused route's within 1e-5 for 10 steps, 1e-4 for 50`, { skip }, async () => {
    await backend("wasm");
    const fused = await seededLosses(config, batch, 50);
    const reference = await withFusedKernels(false, () => seededLosses(config, batch, 50));
    const difference = fused.map((l, i) => Math.abs(l - reference[i]));
    const early = Math.max(...difference.slice(0, 10));
    const worst = Math.max(...difference);
    console.log(`${name}: largest loss difference, first 10 steps ${early.toExponential(2)}, all 50 ${worst.toExponential(2)}; final loss ${fused[49].toFixed(4)}`);
    assert.ok(early <= 1e-5, `largest loss difference in the first 10 steps ${early}`);
    assert.ok(worst <= 1e-4, `largest loss difference ${worst}`);
    assert.ok(fused[49] < fused[0] - 0.5, "the model learns");
  });
}

/** The fused kernels' forward kernel names, by the reference route each replaces (fusedFor asks tfjs for these). */
const FUSED = {
  linear: ["NativeLinear"],
  layerNorm: ["NativeLayerNorm"],
  softmax: ["NativeCausalSoftmax"],
  crossEntropy: ["NativeCrossEntropy"],
  attention: ["NativeCausalAttention"],
};

/** Runs f with only the fused kernels named in `keep` registered (the others take their reference routes), then restores them. */
async function withOnlyFused<T>(keep: string[], f: () => Promise<T>): Promise<T> {
  const configs = Object.values(FUSED).flat().map((name) => {
    const config = tf.getKernel(name, "wasm");
    assert.ok(config, `the fused kernel ${name} is registered`); // a renamed kernel fails here, not by testing nothing
    return config;
  });
  const off = configs.filter((c) => !keep.includes(c.kernelName));
  off.forEach((c) => tf.unregisterKernel(c.kernelName, "wasm"));
  try {
    return await f();
  } finally {
    off.forEach((c) => tf.registerKernel(c));
  }
}

// One fused kernel at a time, 50 seeded steps of model A. Where the arithmetic is the same the losses are the same bits:
// fused Linear against the unfused route, and fused attention against the op-by-op attention with the fused softmax.
// Where a kernel adds in another order (LayerNorm, softmax, cross-entropy), its losses agree within 1e-5 for 10 steps;
// after 50 they differ by about as much as flipping the last bit of one weight of the 0.21M does (checked here: more
// than 1e-5): the training, not the kernel, sets that size.
test("50 seeded steps, one fused kernel at a time: the same bits where the arithmetic is the same, within 1e-5 for 10 steps where it is not", { skip }, async () => {
  await backend("wasm");
  const config = { nEmbd: 64, nHead: 4, nLayer: 4, blockSize: 32 };
  const run = (keep: string[], steps: number) => withOnlyFused(keep, () => seededLosses(config, 16, steps));
  const unfused = await run([], 50);
  assert.deepEqual(unfused, await withFusedKernels(false, () => seededLosses(config, 16, 50)), "none registered: the losses of GPT_FUSED=0");
  assert.deepEqual(await run(FUSED.linear, 50), unfused, "fused Linear: the unfused route's losses, bit for bit");
  const softmaxOnly = await run(FUSED.softmax, 50);
  assert.deepEqual(await run(FUSED.attention, 50), softmaxOnly, "fused attention: the op-by-op attention's losses with the fused softmax, bit for bit");
  // The size of a change of rounding after 50 steps: the last bit of one weight flipped, on the unfused route.
  const flipped = await withFusedKernels(false, () => seededLosses(config, 16, 50, undefined, (model) => {
    const [, w] = model.namedParameters().find(([name]) => name === "blocks.0.sa.c_proj.weight")!;
    const values = w.dataSync().slice() as Float32Array;
    new Uint32Array(values.buffer)[0] ^= 1;
    tf.tidy(() => w.assign(tf.tensor(values, w.shape)));
  }));
  const moved = flipped.map((l, i) => Math.abs(l - unfused[i]));
  console.log(`the last bit of one weight flipped: largest loss difference, first 10 steps ${Math.max(...moved.slice(0, 10)).toExponential(2)}, all 50 ${Math.max(...moved).toExponential(2)}`);
  assert.ok(Math.max(...moved.slice(0, 10)) <= 1e-5 && Math.max(...moved) > 1e-5, "one bit of one weight moves the losses by more than 1e-5 within 50 steps");
  for (const [name, keep, losses] of [["softmax", FUSED.softmax, softmaxOnly], ["LayerNorm", FUSED.layerNorm, await run(FUSED.layerNorm, 10)], ["cross-entropy", FUSED.crossEntropy, await run(FUSED.crossEntropy, 10)]] as const) {
    const early = Math.max(...losses.slice(0, 10).map((l, i) => Math.abs(l - unfused[i])));
    assert.ok(early <= 1e-5, `${name} alone (${keep.join(", ")}): largest loss difference in the first 10 steps ${early}`);
  }
});
