/**
 * The GPU engine (webgpu backend on Dawn) against the cpu backend: every module's outputs and gradients, a short seeded
 * training run, generation, the GPU dropout kernel, and no tensor left behind.
 *
 * Runs through `npm run test:webgpu` (scripts/webgpu-test.mjs), which points Vulkan at SwiftShader when no GPU is set
 * up and sets GPT_WEBGPU_TEST=1; under plain `npm run test:unit` it is skipped. Sizes are tiny: SwiftShader is a
 * software GPU, correct but slow.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  AdamW, Dropout, generate, getBatch, GPTLanguageModel, initBackend, LanguageModel, Module, Rng, trainStep, type BackendName,
} from "@build-gpt/lib/internal";
import { DROPOUT_KERNEL, dropoutMask, gpuDropout } from "@build-gpt/lib/internal";
import { build, manifest, stateDict, tensor, values, type Case } from "./parity-fixtures";

const ENABLED = process.env.GPT_WEBGPU_TEST === "1";

/** Largest relative differences, webgpu against cpu: float32 sums in another order, nothing more. */
const TOLERANCE = { outputs: 1e-5, grads: 1e-5, losses: 1e-5 };

/** The largest relative difference seen per quantity, for the summary. */
const worst: Record<string, { error: number; where: string }> = {};

async function use(name: BackendName): Promise<void> {
  const info = await initBackend(name);
  assert.equal(info.name, name);
}

/** Reads every tensor of a map asynchronously (webgpu has no synchronous read in Node), then disposes them. */
async function read(tensors: Record<string, tf.Tensor>): Promise<Record<string, Float32Array>> {
  try {
    const entries = await Promise.all(Object.entries(tensors).map(async ([k, t]) => [k, (await t.data()) as Float32Array] as const));
    return Object.fromEntries(entries);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** max |a − b| / max |b|, or / scale when given. */
function relativeError(a: Float32Array, b: Float32Array, scale = 0): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let largest = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    largest = Math.max(largest, Math.abs(b[i]));
  }
  return diff / (scale || largest || 1);
}

/** A case's outputs and gradients (by PyTorch name) on the current backend, computed from the fixture's weights. */
async function results(c: Case): Promise<Record<string, Float32Array>> {
  const model = build(c);
  const weights = stateDict(c.params);
  model.loadStateDict(weights).eval();
  tf.dispose(Object.values(weights));
  try {
    const named = model.namedParameters();
    const out = tf.tidy(() => {
      let f: () => tf.Scalar;
      let first: tf.Tensor;
      let x: tf.Variable<tf.Rank.R3> | undefined;
      if (c.kind === "model") {
        const lm = model as LanguageModel;
        const idx = tf.tensor2d(c.idx!, undefined, "int32");
        const targets = tf.tensor2d(c.targets!, undefined, "int32");
        first = lm.forward(idx);
        f = () => lm.loss(idx, targets);
      } else {
        const layer = model as Module & { forward(x: tf.Tensor3D): tf.Tensor3D };
        x = tf.variable(tensor(c.x!) as tf.Tensor3D) as tf.Variable<tf.Rank.R3>;
        const probe = tensor(c.probe!);
        first = layer.forward(x);
        f = () => layer.forward(x!).mul(probe).sum();
      }
      const { value, grads } = tf.variableGrads(f, [...named.map(([, v]) => v), ...(x ? [x] : [])]);
      const map: Record<string, tf.Tensor> = { output: first, objective: value };
      for (const [name, v] of named) map[`gradient of ${name}`] = grads[v.name];
      if (x) {
        map["gradient of the input"] = grads[x.name];
        x.dispose();
      }
      return map;
    });
    return await read(out);
  } finally {
    model.dispose();
  }
}

/** A token stream with structure to learn: tiny vocabulary, a repeating pattern with a slow drift. */
function tokens(n: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 7 + Math.floor(i / 13)) % vocab);
}

/** `steps` AdamW steps of a tiny GPT from seed 3 on the current backend; the losses, and a sample afterwards. */
async function shortRun(steps: number, dropout: number, sampleTokens = 6): Promise<{ losses: number[]; sample: number[] }> {
  const config = { vocabSize: 16, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 1, dropout };
  const model = new GPTLanguageModel(config, new Rng(3));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  const data = tokens(400, config.vocabSize);
  const batches = new Rng(4);
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const { x, y } = getBatch(data, 4, config.blockSize, batches);
      try {
        losses.push(await trainStep(model, optimizer, x, y));
      } finally {
        tf.dispose([x, y]);
      }
    }
    const sample = sampleTokens > 0 ? await generate(model, [0], sampleTokens, { rng: new Rng(5) }) : [];
    return { losses, sample };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

if (!ENABLED) {
  test("webgpu: the GPU engine's tests run through `npm run test:webgpu`", { skip: "run `npm run test:webgpu` (it sets up SwiftShader or a GPU)" }, () => {});
} else {
  test("webgpu: the engine starts, and its line names the adapter", async () => {
    const info = await initBackend("webgpu");
    assert.equal(info.name, "webgpu");
    assert.equal(tf.getBackend(), "webgpu");
    assert.match(info.description, /^Backend: webgpu \(Dawn on \S+ \S+/);
    console.log(info.description);
  });

  test("webgpu: the automatic choice for the scaled workload refuses a software adapter, saying so, and runs on the CPU", async (t) => {
    await initBackend("webgpu");
    const info = await initBackend("auto", { workload: "scaled" });
    if (!/swiftshader/i.test(info.description) && info.name === "webgpu") return t.skip("this run is on a hardware GPU");
    assert.notEqual(info.name, "webgpu");
    assert.match(info.gpuFallback ?? "", /^GPU engine not used: the only adapter is software \(google swiftshader/);
  });

  for (const c of manifest.cases) {
    test(`webgpu: ${c.name} (${c.module}) — output and gradients equal the cpu backend's`, async () => {
      await use("cpu");
      const expected = await results(c);
      await use("webgpu");
      const before = tf.memory().numTensors;
      const actual = await results(c);
      assert.equal(tf.memory().numTensors, before, "tensors left behind on webgpu");
      // A module's objective, sum(y * probe), cancels: its error is measured against the sum of its terms' magnitudes.
      const probe = c.probe ? values(c.probe) : undefined;
      const terms = probe ? expected.output.reduce((sum, y, i) => sum + Math.abs(y * probe[i]), 0) : 0;
      for (const [what, e] of Object.entries(expected)) {
        const tolerance = what.startsWith("gradient") ? TOLERANCE.grads : TOLERANCE.outputs;
        const error = relativeError(actual[what], e, what === "objective" ? terms : 0);
        const kind = what.startsWith("gradient") ? "gradients" : what;
        if (!(worst[kind]?.error >= error)) worst[kind] = { error, where: `${c.name} ${what}` };
        assert.ok(error <= tolerance, `${c.name} ${what}: relative error ${error.toExponential(2)} > ${tolerance}`);
      }
    });
  }

  test("webgpu: the largest differences from the cpu backend", (t) => {
    for (const [quantity, { error, where }] of Object.entries(worst)) t.diagnostic(`${quantity}: ${error.toExponential(2)} at ${where}`);
    assert.ok(Object.keys(worst).length > 0);
  });

  test("webgpu: a short seeded training run gives the cpu backend's losses and sample, and leaves no tensor behind", async (t) => {
    await use("cpu");
    const cpu = await shortRun(4, 0);
    await use("webgpu");
    const before = tf.memory().numTensors;
    const gpu = await shortRun(4, 0);
    assert.equal(tf.memory().numTensors, before, "tensors left behind on webgpu");
    for (let i = 0; i < cpu.losses.length; i++) {
      assert.ok(Math.abs(gpu.losses[i] - cpu.losses[i]) <= TOLERANCE.losses * cpu.losses[i], `step ${i + 1}: webgpu loss ${gpu.losses[i]}, cpu ${cpu.losses[i]}`);
    }
    assert.ok(cpu.losses[3] < cpu.losses[0], `the loss falls: ${cpu.losses.join(", ")}`);
    const largest = Math.max(...cpu.losses.map((l, i) => Math.abs(gpu.losses[i] - l) / l));
    t.diagnostic(`losses on cpu ${cpu.losses.map((l) => l.toFixed(5)).join(", ")}; largest relative difference on webgpu ${largest.toExponential(2)}`);
    assert.deepEqual(gpu.sample, cpu.sample);
  });

  test("webgpu: the dropout kernel draws the mask its JavaScript copy describes, bit for bit", async () => {
    await use("webgpu");
    const x = tf.randomNormal([3, 7, 11], 0, 1, "float32", 9);
    const y = gpuDropout(x, 0.3, 12345);
    const [xs, ys] = await Promise.all([x.data(), y.data()]);
    const mask = dropoutMask(xs.length, 0.3, 12345);
    for (let i = 0; i < xs.length; i++) assert.equal(ys[i] + 0, Math.fround(xs[i] * mask[i]) + 0, `element ${i}`); // + 0: -0 and 0 alike
    tf.dispose([x, y]);
  });

  test("webgpu: the dropout kernel is right past one dispatch dimension's 65535 workgroups (gpt.py's attention weights)", async () => {
    await use("webgpu");
    const n = 128 * 65536 + 1000; // workgroups of 128: more than 65535 of them, so tfjs spreads the dispatch over two dimensions
    const y = gpuDropout(tf.ones([n]), 0.2, 99);
    const got = await y.data();
    y.dispose();
    const want = dropoutMask(n, 0.2, 99);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (got[i] !== want[i]) mismatches++;
    assert.equal(mismatches, 0);
  });

  test("webgpu: the dropout kernel keeps 1 − p of the elements, scaled by 1/(1 − p), independently of position", async () => {
    await use("webgpu");
    const n = 1 << 16;
    for (const p of [0.1, 0.2, 0.5]) {
      const y = gpuDropout(tf.ones([n]), p, 777);
      const values = await y.data();
      y.dispose();
      const scale = Math.fround(1 / (1 - p));
      let kept = 0;
      let keptEven = 0;
      let bothKept = 0; // neighbours kept together: about (1 − p)² of the pairs if the draws are independent
      for (let i = 0; i < n; i++) {
        assert.ok(values[i] === 0 || values[i] === scale, `element ${i} is ${values[i]}, neither 0 nor ${scale}`);
        if (values[i] === 0) continue;
        kept++;
        if (i % 2 === 0) keptEven++;
        if (i + 1 < n && values[i + 1] !== 0) bothKept++;
      }
      const q = 1 - p;
      const sd = Math.sqrt((p * q) / n); // standard deviation of the kept fraction
      assert.ok(Math.abs(kept / n - q) < 5 * sd, `p=${p}: kept ${kept / n}, expected ${q} ± ${5 * sd}`);
      assert.ok(Math.abs(keptEven / (n / 2) - q) < 5 * Math.sqrt((p * q) / (n / 2)), `p=${p}: even positions kept ${keptEven / (n / 2)}`);
      assert.ok(Math.abs(bothKept / (n - 1) - q * q) < 0.02, `p=${p}: neighbours kept together ${bothKept / (n - 1)}, expected ${q * q}`);
    }
  });

  test("webgpu: the dropout kernel repeats with its seed, changes with another, and its gradient is its mask", async () => {
    await use("webgpu");
    const x = tf.ones([4, 64]);
    const [a, b, c] = await read({ a: gpuDropout(x, 0.2, 1), b: gpuDropout(x, 0.2, 1), c: gpuDropout(x, 0.2, 2) }).then((r) => [r.a, r.b, r.c]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const probe = tf.randomNormal([4, 64], 0, 1, "float32", 3);
    const { grad, probeValues } = await read({ grad: tf.grad((v: tf.Tensor) => gpuDropout(v, 0.2, 1).mul(probe).sum())(x), probeValues: probe.clone() })
      .then((r) => ({ grad: r.grad, probeValues: r.probeValues }));
    for (let i = 0; i < a.length; i++) assert.equal(grad[i] + 0, Math.fround(a[i] * probeValues[i]) + 0, `gradient element ${i}`);
    tf.dispose([x, probe]);
  });

  test("webgpu: Dropout runs on the kernel in training, with the seed initWeights gave it; in eval it is the identity", async () => {
    await use("webgpu");
    const before = tf.memory().numTensors;
    const dropout = new Dropout(0.25).initWeights(new Rng(5));
    const seed = new Rng(new Rng(5).seed()).seed(); // the first seed its own stream draws
    const x = tf.ones([2, 3, 8]);
    const { train, evaluated } = await read({ train: dropout.forward(x), evaluated: dropout.inEvalMode(() => dropout.forward(x).clone()) });
    assert.deepEqual(train, dropoutMask(48, 0.25, seed));
    assert.deepEqual(evaluated, new Float32Array(48).fill(1));
    x.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test("webgpu: a model with dropout trains the same way twice from the same seed", async () => {
    await use("webgpu");
    const first = await shortRun(2, 0.2, 0);
    const second = await shortRun(2, 0.2, 0);
    assert.deepEqual(second.losses, first.losses);
  });

  test("webgpu: the dropout kernel exists for the webgpu backend only; the cpu route is tf.dropout, unchanged", async () => {
    assert.ok(tf.getKernel(DROPOUT_KERNEL, "webgpu"));
    assert.equal(tf.getKernel(DROPOUT_KERNEL, "cpu"), undefined);
    await use("cpu");
    assert.throws(() => gpuDropout(tf.ones([2]), 0.5, 1), /webgpu backend only/);
  });
}
