/**
 * Bad input, as a careless user gives it (silent wrong results, leaks): each case gets a clear error
 * that says what to do, or the behaviour a learner expects, and no tensor is left behind on the error path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  AdamW, BigramLanguageModel, CharTokenizer, crossEntropy, Embedding, estimateLoss, FeedForward, generate, getBatch,
  Head, isFastMode, LayerNorm, Linear, loadTinyShakespeare, MultiHeadAttention, nextTokenProbs, Rng,
  SingleHeadLanguageModel, streamTokens, train, trainStep, TrainingDiverged, TINY_SHAKESPEARE,
  type Split, type TrainStatus,
} from "@build-gpt/lib/internal";
import { envFlag, nativeKernels } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const V = 65;

/** Random tokens below `vocab`: enough to train a bigram model on for a few steps. */
function tinySplit(vocab = V): Split {
  const rng = new Rng(3);
  const tokens = (n: number) => Int32Array.from({ length: n }, () => rng.int(vocab));
  return { train: tokens(4000), val: tokens(1000) };
}

const settings = { batchSize: 4, blockSize: 8, maxIters: 6, evalInterval: 3, evalIters: 2 };

/** Runs `f` with a fresh bigram model and its optimizer, disposing both whatever happens. */
async function withBigram<T>(f: (model: BigramLanguageModel, optimizer: AdamW) => Promise<T> | T, lr = 1e-2): Promise<T> {
  await backend();
  const model = new BigramLanguageModel(V, new Rng(1));
  const optimizer = new AdamW(model.parameters(), { lr });
  try {
    return await f(model, optimizer);
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** The tensors `f` leaves behind (it may throw: that is the error path being checked). */
async function leakedBy(f: () => unknown): Promise<number> {
  const before = tf.memory().numTensors;
  try {
    await f();
  } catch {
    // the error itself is checked elsewhere
  }
  return tf.memory().numTensors - before;
}

// --- Divergence ----------------------------------------------------------------------------------------------------

test("AdamW refuses settings outside their range, saying the range", async () => {
  await backend();
  const p = tf.variable(tf.zeros([2]));
  try {
    for (const lr of [NaN, Infinity, -1e-3]) assert.throws(() => new AdamW([p], { lr }), /lr must be a finite number >= 0/, `lr ${lr}`);
    for (const betas of [[1, 0.999], [0.9, -0.1], [NaN, 0.9]] as [number, number][]) {
      assert.throws(() => new AdamW([p], { betas }), /betas must each be in \[0, 1\)/, `betas ${betas}`);
    }
    for (const eps of [0, -1, NaN]) assert.throws(() => new AdamW([p], { eps }), /eps must be a finite number > 0/, `eps ${eps}`);
    for (const weightDecay of [NaN, -0.1, Infinity]) {
      assert.throws(() => new AdamW([p], { weightDecay }), /weightDecay must be a finite number >= 0/, `weightDecay ${weightDecay}`);
    }
    const ok = new AdamW([p], { lr: 0 }); // lr 0 is allowed: a step that changes nothing
    ok.lr = NaN; // a schedule that computes a bad lr is caught at the step that uses it
    const g = tf.ones([2]);
    assert.throws(() => ok.step({ [p.name]: g }), /lr must be a finite number >= 0, got NaN/);
    g.dispose();
    ok.dispose();
  } finally {
    p.dispose();
  }
});

test("training that diverges stops at the first non-finite loss with TrainingDiverged, naming the step", async () => {
  await withBigram(async (model, optimizer) => {
    let step = 0;
    const progress = { update: (s: Readonly<TrainStatus>) => { step = s.step; }, end: () => {} };
    const w = model.tokenEmbeddingTable.weight;
    // Three good steps, then the weights blow up (as a too-large learning rate makes them).
    const err = await train(model, optimizer, tinySplit(), {
      ...settings, maxIters: 10, evalInterval: 100, rng: new Rng(2),
      progress: { ...progress, update: (s) => { progress.update(s); if (s.step === 3) w.assign(tf.fill(w.shape, NaN) as tf.Tensor2D); } },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof TrainingDiverged, `got ${err}`);
    assert.equal(err.step, 4);
    assert.match(err.message, /loss is NaN at step 4.*learning rate/s);
    assert.equal(step, 3, "no step after the bad one");
  });
});

test("a learning rate of 1e4 diverges loudly, not silently: TrainingDiverged, with the usual causes", async () => {
  await withBigram(async (model, optimizer) => {
    const err = await train(model, optimizer, tinySplit(), { ...settings, maxIters: 40, evalInterval: 1000, rng: new Rng(2) }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof TrainingDiverged, `got ${err}`);
    assert.ok(err.step > 1 && err.step <= 40, `step ${err.step}`);
    assert.match(err.message, /learning rate \(lr 10000\)/);
    assert.equal(err.result!.stepLosses.length, err.step - 1, "the losses of the good steps are kept");
  }, 1e4);
});

test("Rng.sample refuses NaN or negative probabilities instead of returning the last index", () => {
  const rng = new Rng(1);
  assert.throws(() => rng.sample([NaN, NaN, NaN]), /probability 0 is NaN.*non-negative/);
  assert.throws(() => rng.sample([0.5, -0.1, 0.6]), /probability 1 is -0\.1/);
  assert.throws(() => rng.sample([0, 0, 0]), /sum to 0/);
  assert.equal(rng.sample([0, 1, 0]), 1);
});

// --- Targets outside the vocabulary --------------------------------------------------------------------------------

test("crossEntropy of a target outside the vocabulary is NaN, not a zero loss", async () => {
  await backend();
  const loss = tf.tidy(() => crossEntropy(tf.zeros([2, 5]) as tf.Tensor2D, tf.tensor1d([1, 99], "int32")));
  assert.ok(Number.isNaN((await loss.data())[0]));
  loss.dispose();
  const good = tf.tidy(() => crossEntropy(tf.zeros([2, 5]) as tf.Tensor2D, tf.tensor1d([1, 4], "int32")));
  assert.ok(Math.abs((await good.data())[0] - Math.log(5)) < 1e-6);
  good.dispose();
});

test("trainStep with a target outside the vocabulary raises, naming the id and the vocabulary size", async () => {
  await withBigram(async (model, optimizer) => {
    const x = tf.zeros([2, 4], "int32") as tf.Tensor2D;
    const y = tf.tensor2d([[1, 2, 3, 4], [5, 99, 0, 0]], [2, 4], "int32");
    try {
      const before = Array.from(await model.tokenEmbeddingTable.weight.data());
      await assert.rejects(trainStep(model, optimizer, x, y), /target id 99 .*vocabulary of 65 tokens \(ids 0\.\.64\)/);
      assert.deepEqual(Array.from(await model.tokenEmbeddingTable.weight.data()), before, "no update was applied");
      assert.equal(await leakedBy(() => trainStep(model, optimizer, x, y)), 0);
    } finally {
      tf.dispose([x, y]);
    }
  });
});

test("train and estimateLoss check the data's ids against the model's vocabulary once, up front", async () => {
  await withBigram(async (model, optimizer) => {
    const split = tinySplit(70); // a vocabulary of 70 tokens, the model's is 65
    await assert.rejects(train(model, optimizer, split, { ...settings, rng: new Rng(2) }), /token id 6[5-9] .*vocabulary has 65 tokens/);
    assert.equal(optimizer.t, 0, "no step was taken");
    await assert.rejects(estimateLoss(model, split, 2, { batchSize: 4, blockSize: 8 }, new Rng(2)), /token id 6[5-9] .*vocabulary has 65 tokens/);
  });
});

// --- No leak on an error path --------------------------------------------------------------------------------------

test("trainStep with y shaped unlike x: a clear error, and no tensor left behind", async () => {
  await withBigram(async (model, optimizer) => {
    const x = tf.zeros([4, 8], "int32") as tf.Tensor2D;
    const y = tf.zeros([4, 7], "int32") as tf.Tensor2D;
    try {
      await assert.rejects(trainStep(model, optimizer, x, y), /y \(targets\) must have x's shape \(4,8\), got \(4,7\)/);
      assert.equal(await leakedBy(() => trainStep(model, optimizer, x, y)), 0);
      const f = tf.zeros([4, 8], "float32") as tf.Tensor2D;
      await assert.rejects(trainStep(model, optimizer, f, f), /int32 token ids, got float32/);
      f.dispose();
    } finally {
      tf.dispose([x, y]);
    }
  });
});

// --- Sampling settings ---------------------------------------------------------------------------------------------

test("nextTokenProbs and generate refuse temperatures, topK and lengths outside their range", async () => {
  await withBigram(async (model) => {
    for (const temperature of [0, -1, NaN, Infinity]) {
      await assert.rejects(nextTokenProbs(model, [0], temperature), /temperature must be a finite number > 0/, `temperature ${temperature}`);
    }
    for (const topK of [0, 1.5, 66, -2]) {
      await assert.rejects(nextTokenProbs(model, [0], 1, topK), /topK must be an integer in \[1, 65\]/, `topK ${topK}`);
    }
    for (const maxNewTokens of [-3, NaN, 2.5, undefined]) {
      await assert.rejects(generate(model, [0], maxNewTokens as number), /maxNewTokens must be a non-negative integer/, `maxNewTokens ${maxNewTokens}`);
    }
    await assert.rejects(generate(model, [0, 99], 3), /context token 99 at position 1 is outside the vocabulary \(ids 0\.\.64\)/);
    await assert.rejects(generate(model, [], 3), /at least one context token/);
    await assert.rejects(streamTokens(model, [0], -1).next(), /maxNewTokens must be a non-negative integer/);
    assert.deepEqual(await generate(model, [0], 0), [0]);
    const streamed: number[] = [];
    for await (const t of streamTokens(model, [0], 12, { rng: new Rng(8), topK: 5 })) streamed.push(t);
    assert.deepEqual([0, ...streamed], await generate(model, [0], 12, { rng: new Rng(8), topK: 5 }), "streamTokens samples what generate does");
    assert.equal(await leakedBy(() => nextTokenProbs(model, [0], 0)), 0);
  });
});

test("a tiny temperature is greedy decoding, not one repeated character from NaN probabilities", async () => {
  await withBigram(async (model) => {
    const probs = await nextTokenProbs(model, [0], 1e-45);
    assert.ok(probs.every((p) => Number.isFinite(p)), "finite probabilities");
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    const cold = await generate(model, [0], 20, { temperature: 1e-45, rng: new Rng(3) });
    const greedy = await generate(model, [0], 20, { topK: 1, rng: new Rng(3) });
    assert.deepEqual(cold, greedy);
  });
});

test("estimateLoss needs a positive integer number of batches", async () => {
  await withBigram(async (model) => {
    for (const evalIters of [-1, 0, 1.5, NaN]) {
      await assert.rejects(estimateLoss(model, tinySplit(), evalIters, { batchSize: 4, blockSize: 8 }, new Rng(2)), /evalIters must be a positive integer/, `${evalIters}`);
    }
  });
});

// --- The tokenizer -------------------------------------------------------------------------------------------------

test("decode takes arrays and typed arrays, refuses what is not a token id, and says how to pass a tensor", async () => {
  await backend();
  const tok = CharTokenizer.fromText("hello world");
  const ids = tok.encode("hello");
  assert.equal(tok.decode(ids), "hello");
  assert.equal(tok.decode(Int32Array.from(ids)), "hello");
  assert.equal(tok.decode(Float32Array.from(ids)), "hello");
  assert.throws(() => tok.decode(["length"] as unknown as number[]), /"length" at position 0 is not a token id/);
  assert.throws(() => tok.decode([1.5]), /1\.5 at position 0 is not a token id/);
  assert.throws(() => tok.decode([2, 99]), /Cannot decode token 99 at position 1: tokens run from 0 to 7/);
  const t = tf.tensor1d(ids, "int32");
  try {
    assert.throws(() => tok.decode(t as unknown as number[]), /decode\(await t\.data\(\)\)/);
    assert.equal(tok.decode(await t.data()), "hello");
  } finally {
    t.dispose();
  }
  assert.throws(() => tok.decode([[1, 2]] as unknown as number[]), /one sequence at a time/);
  assert.throws(() => tok.decode(Promise.resolve([1]) as unknown as number[]), /got a Promise: await it first/);
  assert.throws(() => tok.encode(123 as unknown as string), /encode takes a string \(the text to tokenize\), got a number: 123/);
});

// --- train() -------------------------------------------------------------------------------------------------------

test("train checks that the optimizer holds exactly the model's parameters", async () => {
  await withBigram(async (model) => {
    const other = new BigramLanguageModel(V, new Rng(9));
    const wrong = new AdamW(other.parameters());
    try {
      await assert.rejects(train(model, wrong, tinySplit(), { ...settings, rng: new Rng(2) }), /optimizer does not hold this model's parameters.*new AdamW\(model\.parameters\(\)/s);
    } finally {
      other.dispose();
      wrong.dispose();
    }
  });
});

test("a second train() on a model that is already training is refused", async () => {
  await withBigram(async (model, optimizer) => {
    const first = train(model, optimizer, tinySplit(), { ...settings, rng: new Rng(2) });
    await assert.rejects(train(model, optimizer, tinySplit(), { ...settings, rng: new Rng(2) }), /already training/);
    const result = await first;
    assert.equal(result.stepLosses.length, settings.maxIters);
    await train(model, optimizer, tinySplit(), { ...settings, maxIters: 1, rng: new Rng(2) }); // free again once it ended
  });
});

test("train resumes from startStep: steps startStep..maxIters, evaluations at multiples of evalInterval and the end", async () => {
  await withBigram(async (model, optimizer) => {
    const steps: number[] = [];
    const result = await train(model, optimizer, tinySplit(), {
      ...settings, startStep: 4, maxIters: 10, evalInterval: 3, rng: new Rng(2),
      progress: { update: (s) => steps.push(s.step), end: () => {} },
    });
    assert.deepEqual(result.history.map((p) => p.step), [6, 9, 10]);
    assert.equal(result.stepLosses.length, 6);
    assert.equal(steps[0], 5, "the first report is after step 5, the first this run takes");
    assert.equal(steps.at(-1), 10);
    for (const startStep of [-1, 11, 2.5]) {
      await assert.rejects(train(model, optimizer, tinySplit(), { ...settings, startStep, maxIters: 10, rng: new Rng(2) }), /startStep must be an integer in \[0, 10\]/);
    }
  });
});

// --- Batches -------------------------------------------------------------------------------------------------------

test("getBatch refuses a batch far above any sane size, with the reason, before allocating", async () => {
  await backend();
  const data = tinySplit().train;
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  assert.throws(() => getBatch(data, 1e9, 4, new Rng(1)), /batch of 1000000000 × 4 = 4000000000 tokens is too large.*at most 16777216/s);
  assert.ok(performance.now() - t0 < 100, "fails fast");
  assert.equal(tf.memory().numTensors, before);
});

// --- The data ------------------------------------------------------------------------------------------------------

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/input.txt`, server };
}

test("a directory as TINYSHAKESPEARE_PATH is a clear error, not a raw EISDIR", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  await assert.rejects(loadTinyShakespeare({ path: dir }), /names .* a directory, not a file.*input\.txt/s);
});

test("a file the user named with the wrong checksum: the advice is to fix the path, not to delete their file", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const file = path.join(dir, "input.txt");
  writeFileSync(file, "To be, or not to be\n");
  const err = await loadTinyShakespeare({ path: file }).then(() => undefined, (e: Error) => e);
  assert.ok(err);
  assert.doesNotMatch(err.message, /Delete it/);
  assert.match(err.message, /not tiny Shakespeare.*Point TINYSHAKESPEARE_PATH at a good copy, or unset it to download one/s);
});

test("an unwritable data folder: the verified download is used, with a warning that it could not be cached", async (t) => {
  const good = readFileSync(process.env.TINYSHAKESPEARE_PATH!);
  const base = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const blocker = path.join(base, "a-file");
  writeFileSync(blocker, "not a folder"); // a data folder below a file can never be created (even as root)
  const warn = t.mock.method(console, "warn", () => {});
  const { url, server } = await serve((_req, res) => res.end(good));
  try {
    const text = await loadTinyShakespeare({ path: "", dataDir: path.join(blocker, "data"), url });
    assert.equal(text.length, 1_115_394);
    assert.equal(warn.mock.callCount(), 1);
    assert.match(String(warn.mock.calls[0].arguments[0]), /could not be cached in .*a-file.*ENOTDIR.*GPT_DATA_DIR/s);
  } finally {
    server.close();
  }
});

test("a stalled download times out with the usual advice", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const { url, server } = await serve((_req, res) => {
    res.writeHead(200, { "content-length": "1115394" });
    res.write("First Citizen:\n"); // then nothing more
  });
  try {
    await assert.rejects(loadTinyShakespeare({ path: "", dataDir, url, timeoutMs: 300 }), new RegExp(`timed out after 0\\.3 s.*${TINY_SHAKESPEARE.envVar}=`, "s"));
    assert.deepEqual(readdirSync(dataDir), []);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("a dropped download (the connection closes halfway) gives the usual advice", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const { url, server } = await serve((_req, res) => {
    res.writeHead(200, { "content-length": "1115394" });
    res.write("First Citizen:\n", () => res.socket?.destroy());
  });
  try {
    await assert.rejects(loadTinyShakespeare({ path: "", dataDir, url, timeoutMs: 5000 }), new RegExp(`Could not download.*${TINY_SHAKESPEARE.envVar}=`, "s"));
  } finally {
    server.close();
  }
});

// --- Environment variables -----------------------------------------------------------------------------------------

test("yes/no environment variables accept the usual spellings and reject the rest, naming the accepted ones", () => {
  for (const v of ["1", "true", "TRUE", "yes", "on", " On ", " 1"]) assert.equal(envFlag("GPT_X", { GPT_X: v }), true, v);
  for (const v of ["0", "false", "No", "off", " OFF "]) assert.equal(envFlag("GPT_X", { GPT_X: v }), false, v);
  for (const v of [undefined, "", "  "]) assert.equal(envFlag("GPT_X", { GPT_X: v }), undefined, String(v));
  assert.throws(() => envFlag("GPT_X", { GPT_X: "maybe" }), /GPT_X="maybe" is not a yes\/no value: use 1\/0, true\/false, yes\/no or on\/off/);
});

test("GPT_FAST=on or ' 1' is fast mode; a typo is an error, not full settings", () => {
  const saved = process.env.GPT_FAST;
  try {
    for (const v of ["on", " 1", "YES"]) {
      process.env.GPT_FAST = v;
      assert.equal(isFastMode(), true, v);
    }
    process.env.GPT_FAST = "off";
    assert.equal(isFastMode(), false);
    process.env.GPT_FAST = "fast";
    assert.throws(() => isFastMode(), /GPT_FAST="fast" is not a yes\/no value/);
  } finally {
    if (saved === undefined) delete process.env.GPT_FAST;
    else process.env.GPT_FAST = saved;
  }
});

const skipNative = nativeKernels() ? false : "the native kernels do not load here";
const backendLine = (env: Record<string, string>) => {
  const script = `require("@build-gpt/lib").initBackend("wasm").then((b) => console.log(b.description), (e) => { console.log("error: " + e.message); })`;
  return spawnSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8" }).stdout;
};

test("GPT_NATIVE=false or no switches the native kernels off; a typo is refused", { skip: skipNative }, () => {
  assert.match(backendLine({ GPT_NATIVE: "false" }), /native CPU kernels off \(GPT_NATIVE=false\)/);
  assert.match(backendLine({ GPT_NATIVE: "no" }), /native CPU kernels off \(GPT_NATIVE=no\)/);
  assert.match(backendLine({ GPT_NATIVE: "nope" }), /error: GPT_NATIVE="nope" is not a yes\/no value/);
});

test("GPT_THREADS above the cores available is capped, and the backend line says so", { skip: skipNative }, () => {
  const cores = availableParallelism();
  assert.match(backendLine({ GPT_THREADS: "1000" }), new RegExp(`native CPU kernels \\((AVX2|AVX-512), ${cores} threads; GPT_THREADS=1000 capped at the ${cores} cores available\\)`));
  assert.match(backendLine({ GPT_THREADS: "many" }), /error: GPT_THREADS="many" must be a positive integer/);
});

// --- Constructors with bad sizes -----------------------------------------------------------------------------

const badConstructors: [string, () => unknown, RegExp][] = [
  ["new Linear(0, 4)", () => new Linear(0, 4), /inFeatures must be a positive integer, got 0/],
  ["new Linear(4, -1)", () => new Linear(4, -1), /outFeatures must be a positive integer, got -1/],
  ["new Linear(2.5, 4)", () => new Linear(2.5, 4), /inFeatures must be a positive integer, got 2\.5/],
  ["new Embedding(0, 4)", () => new Embedding(0, 4), /numEmbeddings must be a positive integer, got 0/],
  ["new Embedding(4, NaN)", () => new Embedding(4, NaN), /embeddingDim must be a positive integer, got NaN/],
  ["new LayerNorm(0)", () => new LayerNorm(0), /must be a positive integer, got 0/],
  ["new Head(8, 0)", () => new Head(8, 0), /headSize must be a positive integer, got 0/],
  ["new Head(0, 4)", () => new Head(0, 4), /nEmbd must be a positive integer, got 0/],
  ["new MultiHeadAttention(8, 0, 4)", () => new MultiHeadAttention(8, 0, 4), /must be a positive integer, got 0/],
  ["new FeedForward(0)", () => new FeedForward(0), /nEmbd must be a positive integer, got 0/],
  ["new BigramLanguageModel(0, rng)", () => new BigramLanguageModel(0, new Rng(1)), /vocabSize must be a positive integer, got 0/],
  ["new SingleHeadLanguageModel({ headSize: 0 }, rng)", () => new SingleHeadLanguageModel({ vocabSize: V, nEmbd: 32, blockSize: 8, headSize: 0 }, new Rng(1)), /headSize must be a positive integer, got 0/],
];
for (const [what, make, message] of badConstructors) {
  test(`${what}: a clear error, and nothing allocated`, async () => {
    await backend();
    const before = tf.memory().numTensors;
    assert.throws(make, message);
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
  });
}

// --- One way: no import circles ----------------------------------------------------------------------------------

test("lib/src has no import circles, type-only imports included (shared types live in leaf modules)", () => {
  const root = path.resolve(__dirname, "..", "..", "lib", "src");
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
  const all = new Set(files(root));
  const graph = new Map<string, string[]>();
  for (const file of all) {
    const imports = [...readFileSync(file, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)].map((m) => path.resolve(path.dirname(file), m[1]) + ".ts");
    graph.set(file, imports.filter((f) => all.has(f)));
  }
  const circles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      circles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(root, x)).join(" -> "));
      return;
    }
    state.set(f, "open");
    for (const g of graph.get(f) ?? []) visit(g, [...trail, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(circles, []);
});
