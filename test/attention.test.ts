import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  attentionMaps, averagingWeights, causalSoftmax, generate, Head, Rng, scaledAffinities, SingleHeadLanguageModel,
  softmaxWeights, xbowLoop, xbowMatmul, xbowSoftmax,
} from "@build-gpt/lib/internal";
import { assertClose, attentionOf, backend, maxAbsDiff } from "./helpers";


/** B random token sequences of length T, as a plain array and a tensor. */
function randomTokens(B: number, T: number, vocabSize: number, rng: Rng): number[][] {
  return Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(vocabSize)));
}

function lectureModel(seed: number, blockSize = 8) {
  return new SingleHeadLanguageModel({ vocabSize: 65, blockSize, nEmbd: 32 }, new Rng(seed));
}

test("the three versions of the averaging trick agree, and equal the mean of each token's past", async () => {
  await backend();
  const x = tf.randomNormal([4, 8, 2], 0, 1, "float32", new Rng(1337).seed()) as tf.Tensor3D; // the lecture's B, T, C
  const [xbow1, xbow2, xbow3] = [xbowLoop(x), xbowMatmul(x), xbowSoftmax(x)];
  assert.deepEqual(xbow1.shape, [4, 8, 2]);
  assert.ok(maxAbsDiff(xbow1, xbow2) < 1e-6, "loop vs matmul");
  assert.ok(maxAbsDiff(xbow1, xbow3) < 1e-6, "loop vs softmax");
  // Against plain JavaScript: xbow[b][t][c] = mean over s <= t of x[b][s][c].
  const xs = x.arraySync();
  const got = xbow1.arraySync();
  for (let b = 0; b < 4; b++) {
    for (let t = 0; t < 8; t++) {
      for (let c = 0; c < 2; c++) {
        const mean = xs[b].slice(0, t + 1).reduce((sum, row) => sum + row[c], 0) / (t + 1);
        assertClose(got[b][t][c], mean, 1e-6, `xbow[${b}][${t}][${c}]`);
      }
    }
  }
  // Versions 2 and 3 use the same weights: 1/(t+1) on and below the diagonal, 0 above.
  const w2 = averagingWeights(8).arraySync();
  const w3 = softmaxWeights(8).arraySync();
  for (let t = 0; t < 8; t++) {
    for (let s = 0; s < 8; s++) {
      assertClose(w2[t][s], s <= t ? 1 / (t + 1) : 0, 1e-7, `wei2[${t}][${s}]`);
      assertClose(w3[t][s], w2[t][s], 1e-7, `wei3[${t}][${s}]`);
    }
  }
  tf.dispose([x, xbow1, xbow2, xbow3]);
});

test("a head maps (B, T, C) to (B, T, headSize), through (B, T, T) weights", async () => {
  await backend();
  const rng = new Rng(7);
  const head = new Head(32, 16).initWeights(rng);
  const x = tf.randomNormal([4, 8, 32], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
  const wei = attentionOf(head, x);
  const out = head.forward(x);
  assert.deepEqual(wei.shape, [4, 8, 8]);
  assert.deepEqual(out.shape, [4, 8, 16]);
  assert.deepEqual(head.namedParameters().map(([n, v]) => [n, v.shape]), [
    ["key.weight", [16, 32]], ["query.weight", [16, 32]], ["value.weight", [16, 32]],
  ]);
  // The output is the weights applied to the values.
  const expected = tf.tidy(() => tf.matMul(wei, head.value.forward(x)));
  assert.ok(maxAbsDiff(out, expected) < 1e-5);
  tf.dispose([x, wei, out, expected]);
  head.dispose();
});

test("attention rows sum to 1, with zeros above the diagonal", async () => {
  await backend();
  const rng = new Rng(8);
  const head = new Head(32, 32).initWeights(rng);
  const x = tf.randomNormal([3, 10, 32], 0, 2, "float32", rng.seed()) as tf.Tensor3D;
  const weiT = attentionOf(head, x);
  const wei = weiT.arraySync();
  weiT.dispose();
  for (const matrix of wei) {
    matrix.forEach((row, t) => {
      assertClose(row.reduce((a, b) => a + b, 0), 1, 1e-5, `row ${t} sum`);
      row.forEach((w, s) => {
        if (s > t) assert.equal(w, 0, `weight above the diagonal at (${t}, ${s})`);
        else assert.ok(w > 0, `weight on or below the diagonal at (${t}, ${s}) is ${w}`);
      });
    });
  }
  x.dispose();
  head.dispose();
});

test("causality: changing the token at position t+1 leaves the logits at positions <= t unchanged", async () => {
  await backend();
  const rng = new Rng(9);
  const T = 8;
  for (let trial = 0; trial < 3; trial++) {
    const model = lectureModel(100 + trial);
    const idx = randomTokens(4, T, 65, rng);
    const logits = tf.tidy(() => model.forward(tf.tensor2d(idx, undefined, "int32")));
    for (let t = 0; t < T - 1; t++) {
      const changed = idx.map((row) => [...row]);
      for (const row of changed) row[t + 1] = (row[t + 1] + 1 + rng.int(64)) % 65; // a different token
      const diffs = tf.tidy(() => {
        const after = model.forward(tf.tensor2d(changed, undefined, "int32")); // (B, T, V)
        return after.sub(logits).abs().max([0, 2]).dataSync(); // (T): the largest change at each position
      });
      for (let s = 0; s <= t; s++) assert.ok(diffs[s] <= 1e-6, `trial ${trial}: changing position ${t + 1} moved position ${s} by ${diffs[s]}`);
      assert.ok(diffs[t + 1] > 1e-3, `trial ${trial}: changing position ${t + 1} should change its own logits`);
    }
    logits.dispose();
    model.dispose();
  }
});

test("causality of a head on random vectors: the future never reaches the past", async () => {
  await backend();
  const rng = new Rng(10);
  const head = new Head(16, 8).initWeights(rng);
  const x = tf.randomNormal([2, 6, 16], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
  const out = head.forward(x);
  for (let t = 0; t < 5; t++) {
    const noise = tf.tidy(() => tf.randomNormal([2, 1, 16], 0, 1, "float32", rng.seed()).pad([[0, 0], [t + 1, 4 - t], [0, 0]]));
    const diffs = tf.tidy(() => head.forward(x.add(noise)).sub(out).abs().max([0, 2]).dataSync());
    for (let s = 0; s <= t; s++) assert.ok(diffs[s] <= 1e-6, `noise at ${t + 1} moved position ${s} by ${diffs[s]}`);
    assert.ok(diffs[t + 1] > 1e-4);
    noise.dispose();
  }
  tf.dispose([x, out]);
  head.dispose();
});

test("no communication across the batch: changing one sequence leaves the others alone", async () => {
  await backend();
  const rng = new Rng(11);
  const model = lectureModel(11);
  const idx = randomTokens(4, 8, 65, rng);
  const changed = idx.map((row, b) => (b === 2 ? row.map((t) => (t + 5) % 65) : [...row]));
  const perSequence = tf.tidy(() => {
    const a = model.forward(tf.tensor2d(idx, undefined, "int32"));
    const b = model.forward(tf.tensor2d(changed, undefined, "int32"));
    return a.sub(b).abs().max([1, 2]).dataSync(); // (B)
  });
  assert.deepEqual([perSequence[0], perSequence[1], perSequence[3]], [0, 0, 0]);
  assert.ok(perSequence[2] > 1e-3);
  model.dispose();
});

test("scaled attention: q·kᵀ has variance ≈ headSize, scaled by headSize^-0.5 it has variance ≈ 1", async () => {
  await backend();
  const rng = new Rng(12);
  const variance = (t: tf.Tensor) => tf.tidy(() => tf.moments(t).variance.dataSync()[0]);
  for (const headSize of [16, 64]) {
    const q = tf.randomNormal([8, 32, headSize], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
    const k = tf.randomNormal([8, 32, headSize], 0, 1, "float32", rng.seed()) as tf.Tensor3D;
    const unscaled = tf.matMul(q, k, false, true); // (B, T, T)
    const scaled = scaledAffinities(q, k); // (B, T, T)
    assertClose(variance(q), 1, 0.1, "var(q)");
    assertClose(variance(unscaled), headSize, 0.15 * headSize, `var(q·kᵀ), headSize ${headSize}`);
    assertClose(variance(scaled), 1, 0.15, `var(q·kᵀ / √headSize), headSize ${headSize}`);
    tf.dispose([q, k, unscaled, scaled]);
  }
});

test("softmax of large values tends to one-hot (why the scores are scaled)", async () => {
  await backend();
  const peak = (scale: number) => tf.tidy(() => tf.softmax(tf.tensor1d([0.1, -0.2, 0.3, -0.2, 0.5]).mul(scale)).max().dataSync()[0]);
  assert.ok(peak(1) < 0.3, `softmax(x): largest ${peak(1)}`);
  assertClose(peak(8), 0.8, 0.01, "softmax(8x): largest"); // the lecture's printout: 0.8000
  assert.ok(peak(100) > 0.999);
});

test("causalSoftmax masks the future for any number of leading dimensions", async () => {
  await backend();
  const scores = tf.randomNormal([2, 3, 5, 5], 0, 1, "float32", new Rng(13).seed());
  const wei = causalSoftmax(scores).arraySync() as number[][][][];
  for (const row of wei.flat(2)) assertClose(row.reduce((a, b) => a + b, 0), 1, 1e-5, "row sum");
  assert.ok(wei.flat(1).every((m) => m.every((row, t) => row.every((w, s) => s <= t || w === 0))));
  scores.dispose();
});

test("the single-head model: the lecture's parameters, and every one of them learns", async () => {
  await backend();
  const model = lectureModel(14);
  assert.deepEqual(model.namedParameters().map(([n, v]) => `${n} ${v.shape.join("x")}`), [
    "token_embedding_table.weight 65x32", "position_embedding_table.weight 8x32",
    "sa_head.key.weight 32x32", "sa_head.query.weight 32x32", "sa_head.value.weight 32x32",
    "lm_head.weight 65x32", "lm_head.bias 65",
  ]);
  assert.equal(model.numParameters(), 7553); // what PyTorch counts for the lecture's model
  const rng = new Rng(15);
  const x = tf.tensor2d(randomTokens(4, 8, 65, rng), undefined, "int32");
  const y = tf.tensor2d(randomTokens(4, 8, 65, rng), undefined, "int32");
  const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters());
  assertClose(value.dataSync()[0], Math.log(65), 0.5, "loss at init");
  for (const [name, v] of model.namedParameters()) {
    const norm = grads[v.name].norm().dataSync()[0];
    assert.ok(norm > 0, `${name} gets no gradient`);
  }
  tf.dispose([x, y, value, grads]);
  model.dispose();
});

test("the model refuses a context longer than blockSize; generation crops to it", async () => {
  await backend();
  const model = lectureModel(16);
  try {
    assert.throws(() => model.forward(tf.zeros([1, 9], "int32") as tf.Tensor2D), /has 9 tokens but the model sees at most blockSize = 8/);
    // A prompt of 20 tokens, 30 new ones: 50 in all, far beyond the 8 positions the model knows.
    const rng = new Rng(17);
    const prompt = randomTokens(1, 20, 65, rng)[0];
    const out = await generate(model, prompt, 30, { rng: new Rng(18) });
    assert.equal(out.length, 50);
    assert.deepEqual(out.slice(0, 20), prompt);
    assert.ok(out.every((t) => Number.isInteger(t) && t >= 0 && t < 65));
    // Only the last blockSize tokens matter: two prompts that differ before them continue identically.
    const other = [...prompt];
    for (let i = 0; i < 12; i++) other[i] = (other[i] + 1) % 65;
    const greedy = async (p: number[]) => (await generate(model, p, 15, { topK: 1 })).slice(p.length);
    assert.deepEqual(await greedy(other), await greedy(prompt));
  } finally {
    model.dispose();
  }
});

test("attention maps are read during the forward pass, without leaking tensors or changing the model", async () => {
  await backend();
  const model = lectureModel(19);
  const idx = tf.tensor2d(randomTokens(2, 8, 65, new Rng(20)), undefined, "int32");
  const before = tf.memory().numTensors;
  const maps = attentionMaps(model, idx);
  assert.deepEqual(maps.map((m) => m.name), ["sa_head"]);
  assert.deepEqual(maps[0].weights.shape, [2, 8, 8]);
  // The same numbers as the head computes on the model's embeddings (token + position).
  const expected = tf.tidy(() => {
    const x = tf.gather(model.tokenEmbeddingTable.weight, idx).add(model.positionEmbeddingTable.weight) as tf.Tensor3D; // (B, T, C)
    return attentionOf(model.saHead, x);
  });
  assert.ok(maxAbsDiff(maps[0].weights, expected) < 1e-6);
  assert.equal(model.training, true, "the model is back in training mode");
  tf.dispose([maps[0].weights, expected]);
  assert.equal(tf.memory().numTensors, before, "no tensors leaked, and the hooks are gone");
  tf.tidy(() => {
    model.forward(idx); // a later forward pass records nothing
  });
  assert.equal(tf.memory().numTensors, before);
  idx.dispose();
  model.dispose();
});
