/** Lesson 7's check: a right answer is right, a typical wrong one is told what is off, a todo is "not done yet", nothing leaks. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, CharTokenizer, GPTLanguageModel, Rng, exercises, generate, todo, train } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { checkOwnText } = exercises.lesson7;

const TEXT = Array.from({ length: 60 }, (_, i) => `line ${i % 7}: the cat sat on the mat, and the dog sat on the log.\n`).join("");

async function ownTextRun(steps: number) {
  const tokenizer = CharTokenizer.fromText(TEXT);
  const config = { vocabSize: tokenizer.vocabSize, blockSize: 16, nEmbd: 16, nHead: 2, nLayer: 1 };
  const rng = new Rng(1337);
  const model = new GPTLanguageModel(config, rng);
  const ids = Int32Array.from(tokenizer.encode(TEXT));
  if (steps > 0) {
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    await train(model, optimizer, { train: ids, val: ids }, { maxIters: steps, evalInterval: steps, evalIters: 2, batchSize: 8, blockSize: 16, rng });
    optimizer.dispose();
  }
  const sample = tokenizer.decode(await generate(model, [0], 40, { rng: new Rng(1) }));
  return { text: TEXT, tokenizer, model, sample };
}

test("7.1 own text: trained is right; untrained, a wrong vocabulary, short text and todo are not", async () => {
  await backend();
  const before = tf.memory().numTensors;
  const models: GPTLanguageModel[] = [];
  const keep = async (steps: number) => { const r = await ownTextRun(steps); models.push(r.model); return r; };
  try {
    const right = await checkOwnText(() => keep(60));
    assert.equal(right.status, "right", right.lines.join("\n"));
    assert.match(right.lines.join("\n"), /loss on your text: [0-9.]+; the same model untrained: [0-9.]+; a uniform guess: [0-9.]+ — right, it has learned/);

    const untrained = await checkOwnText(() => keep(0));
    assert.equal(untrained.status, "wrong");
    assert.match(untrained.lines.join("\n"), /✗ loss on your text: .* — expected at least 0\.1 below the untrained model's/);
    assert.match(untrained.hint!, /The same four steps as for Shakespeare/);
    assert.match(exercises.recipe(untrained.id!), /CharTokenizer\.fromText\(text\)/);

    assert.ok(models.every((m) => m.parameters().every((p) => p.isDisposed)), "the check disposes the run's model");

    const run = await keep(0);
    const lowerCase = await checkOwnText(async () => ({ ...run, tokenizer: CharTokenizer.fromText(TEXT.toUpperCase()) }));
    assert.equal(lowerCase.status, "wrong");
    assert.match(lowerCase.lines.join("\n"), /✗ the tokenizer's vocabulary: got/);

    const other = await keep(0);
    const short = await checkOwnText(async () => ({ ...other, text: "To be, or not to be" }));
    assert.match(short.lines[0], /✗ your text: 19 characters, expected at least 2000/);

    assert.equal((await checkOwnText(async () => todo("your text"))).status, "todo");
  } finally {
    for (const m of models) m.dispose(); // already done by the checks; disposing twice is harmless
  }
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});
