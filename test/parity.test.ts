/**
 * Parity with PyTorch: given the weights of the PyTorch modules in reference/pytorch_reference.py, the library's modules
 * compute the same outputs, loss, gradients and AdamW step. The fixtures (test/fixtures/parity.json + parity.bin) are
 * written by that script; these tests need no Python.
 *
 * Errors are measured relative to the size of the expected tensor: max |ours − PyTorch's| / max |PyTorch's|
 * (for a scalar, the plain relative error; for a sum, relative to the sum of its terms' magnitudes). Parameters after
 * an AdamW step are compared absolutely.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, GPTLanguageModel, LanguageModel, Module, Rng } from "@build-gpt/lib/internal";
import { backend } from "./helpers";
import { build, gptConfig, manifest, stateDict, tensor, values, type Case, type Named, type Ref } from "./parity-fixtures";

const TOLERANCE = { logits: 1e-5, loss: 1e-5, grads: 1e-4, adamw: 1e-6 };

/** Fails with every difference between the library's parameter names and shapes and PyTorch's named_parameters(). */
function assertSameParameters(model: Module, expected: Named[], what: string): void {
  const ours = model.namedParameters().map(([name, v]) => `${name} ${JSON.stringify(v.shape)}`);
  const theirs = expected.map(({ name, shape }) => `${name} ${JSON.stringify(shape)}`);
  const onlyOurs = ours.filter((n) => !theirs.includes(n));
  const onlyTheirs = theirs.filter((n) => !ours.includes(n));
  assert.ok(onlyOurs.length === 0 && onlyTheirs.length === 0,
    `${what}: parameter names or shapes differ from PyTorch's.\n  only in PyTorch: ${onlyTheirs.join(", ") || "-"}\n  only in the library: ${onlyOurs.join(", ") || "-"}`);
  assert.deepEqual(ours, theirs, `${what}: the same parameters, in another order than PyTorch's`);
}

/** The largest error seen per quantity, over all cases, for the summary. */
const worst: Record<string, { error: number; where: string; absolute: number }> = {};

/**
 * The error of `actual`: max |actual − expected|, divided by max |expected| (or by `scale` when given) unless
 * `absolute`. Records it for the summary and fails above `tolerance`.
 */
function check(quantity: string, where: string, actual: tf.Tensor, expected: Ref, tolerance: number, { absolute = false, scale = 0 } = {}): void {
  assert.deepEqual(actual.shape, expected.shape, `${where}: shape`);
  const a = actual.dataSync();
  const e = values(expected);
  let diff = 0;
  let largest = 0;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
    largest = Math.max(largest, Math.abs(e[i]));
  }
  const error = absolute ? diff : diff / (scale || largest || 1);
  if (!worst[quantity] || error > worst[quantity].error) worst[quantity] = { error, where, absolute: Math.max(diff, worst[quantity]?.absolute ?? 0) };
  else worst[quantity].absolute = Math.max(diff, worst[quantity].absolute);
  assert.ok(error <= tolerance, `${where}: ${absolute ? "absolute" : "relative"} error ${error.toExponential(2)} > ${tolerance}`);
}

/** Every parameter's gradient (and x's, when given), by PyTorch name: tf.variableGrads keys them by variable name. */
function gradients(model: Module, f: () => tf.Scalar, x?: tf.Variable): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const named = model.namedParameters();
  const { value, grads } = tf.variableGrads(f, [...named.map(([, v]) => v), ...(x ? [x] : [])]);
  const out: Record<string, tf.Tensor> = Object.fromEntries(named.map(([name, v]) => [name, grads[v.name]]));
  if (x) out["(input x)"] = grads[x.name];
  return { value, grads: out };
}

/** A library module with the case's PyTorch weights, in evaluation mode. */
function loaded(c: Case): Module {
  const model = build(c);
  assertSameParameters(model, c.parameters, c.name);
  assert.equal(model.numParameters(), c.num_parameters, `${c.name}: parameter count`);
  const weights = stateDict(c.params);
  model.loadStateDict(weights).eval();
  tf.dispose(Object.values(weights));
  return model;
}

for (const c of manifest.cases) {
  test(`parity: ${c.name} (${c.module}) — ${c.kind === "model" ? "logits, loss" : "output"} and gradients equal PyTorch's`, async () => {
    await backend();
    const model = loaded(c);
    tf.tidy(() => {
      let value: tf.Scalar;
      let grads: Record<string, tf.Tensor>;
      if (c.kind === "model") {
        const lm = model as LanguageModel;
        const idx = tf.tensor2d(c.idx!, undefined, "int32");
        const targets = tf.tensor2d(c.targets!, undefined, "int32");
        check("logits", `${c.name} logits`, lm.forward(idx), c.logits!, TOLERANCE.logits);
        ({ value, grads } = gradients(model, () => lm.loss(idx, targets)));
        check("loss", `${c.name} loss`, value, c.loss!, TOLERANCE.loss);
      } else {
        const layer = model as Module & { forward(x: tf.Tensor3D): tf.Tensor3D };
        const x = tf.variable(tensor(c.x!) as tf.Tensor3D);
        const probe = tensor(c.probe!);
        check("module outputs", `${c.name} output`, layer.forward(x), c.y!, TOLERANCE.logits);
        ({ value, grads } = gradients(model, () => layer.forward(x).mul(probe).sum(), x));
        // sum(y * probe) cancels: its error is measured against the sum of its terms' magnitudes.
        const terms = tensor(c.y!).mul(probe).abs().sum().dataSync()[0];
        check("module objective", `${c.name} objective`, value, c.objective!, TOLERANCE.loss, { scale: terms });
        check("gradient wrt input", `${c.name} gradient of x`, grads["(input x)"], c.grad_x!, TOLERANCE.grads);
        x.dispose();
      }
      for (const [name, ref] of Object.entries(c.grads)) check("gradients", `${c.name} gradient of ${name}`, grads[name], ref, TOLERANCE.grads);
    });
    model.dispose();
  });
}

for (const c of manifest.cases.filter((c) => c.after_adamw)) {
  test(`parity: ${c.name} — one AdamW step (torch.optim.AdamW's defaults) gives PyTorch's parameters`, async () => {
    await backend();
    const { lr, betas, eps, weight_decay: weightDecay } = c.adamw!;
    const idx = tf.tensor2d(c.idx!, undefined, "int32");
    const targets = tf.tensor2d(c.targets!, undefined, "int32");
    // The optimiser alone, on PyTorch's gradients; then the whole step, on the library's own gradients.
    const gradientsFrom: Record<string, (model: LanguageModel) => tf.NamedTensorMap> = {
      "PyTorch's gradients": (model) => Object.fromEntries(model.namedParameters().map(([name, v]) => [v.name, tensor(c.grads[name])])),
      "the library's gradients": (model) => {
        const { value, grads } = tf.variableGrads(() => model.loss(idx, targets), model.parameters());
        value.dispose();
        return grads;
      },
    };
    for (const [source, gradientsOf] of Object.entries(gradientsFrom)) {
      const model = loaded(c) as LanguageModel;
      const grads = gradientsOf(model);
      const optimizer = new AdamW(model.parameters(), { lr, betas, eps, weightDecay });
      optimizer.step(grads);
      for (const [name, v] of model.namedParameters()) check("AdamW parameters", `${c.name} ${name} after AdamW (${source})`, v, c.after_adamw![name], TOLERANCE.adamw, { absolute: true });
      tf.dispose(Object.values(grads));
      optimizer.dispose();
      model.dispose();
    }
    tf.dispose([idx, targets]);
  });
}

test("parity: gpt.py's full configuration has PyTorch's parameter names, shapes and count (10,788,929)", async () => {
  await backend();
  for (const full of manifest.full_size) {
    // The rest of PyTorch's state_dict is the causal masks (gpt.py's `tril`, nanoGPT's `bias`), which are not parameters.
    const masks = full.state_dict_buffers.filter((n) => /\.(heads\.\d+\.tril|sa\.bias)$/.test(n));
    assert.deepEqual(masks, full.state_dict_buffers, `${full.name}: state_dict entries that are neither parameters nor masks`);
    assert.equal(masks.length, 6 * (full.config.attention === "heads" ? 6 : 1));
    const model = new GPTLanguageModel(gptConfig(full.config), new Rng(1));
    assertSameParameters(model, full.parameters, full.name);
    assert.equal(model.numParameters(), full.num_parameters);
    assert.equal(model.numParameters(), 10_788_929);
    model.dispose();
  }
});

test("parity: loadStateDict refuses weights that do not fit, naming each problem", async () => {
  await backend();
  const c = manifest.cases.find((c) => c.name === "gpt")!;
  const model = build(c);
  const weights = stateDict(c.params);
  const { ["ln_f.bias"]: _lnFBias, ...missing } = weights;
  assert.throws(() => model.loadStateDict(missing), /missing ln_f\.bias \(16\)/);
  assert.throws(() => model.loadStateDict({ ...weights, "blocks.0.sa.heads.0.tril": tf.ones([8, 8]) }), /unexpected blocks\.0\.sa\.heads\.0\.tril/);
  assert.throws(() => model.loadStateDict({ ...weights, "lm_head.weight": tf.zeros([16, 65]) }), /lm_head\.weight: shape \(16,65\), the model's is \(65,16\)/);
  tf.dispose(Object.values(weights));
  model.dispose();
});

test("parity: the largest errors against PyTorch", (t) => {
  for (const [quantity, { error, where, absolute }] of Object.entries(worst)) {
    t.diagnostic(`${quantity}: ${error.toExponential(2)} at ${where}; largest absolute difference ${absolute.toExponential(2)}`);
  }
  assert.ok(Object.keys(worst).length > 0);
});
