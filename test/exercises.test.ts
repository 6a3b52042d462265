/** The exercises' machinery: verdicts for right, wrong and unwritten answers, and strict mode for CI's solutions run. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { exercises, todo } from "@build-gpt/lib/internal";
import { backend } from "./helpers";

const { verdict, closeNumber, closeTensor, sameValue, report, verdictText } = exercises;

test("a todo() placeholder is 'not done yet', not a failure", () => {
  const v = verdict("Exercise 0.1", () => [sameValue("f(1)", todo("f"), 2)]);
  assert.equal(v.status, "todo");
  assert.match(v.lines[0], /Not written yet: f\. Replace the todo/);
});

test("right and wrong answers: what is off and by how much; a wrong one shows the nudge, and the recipe only when asked", async () => {
  await backend();
  const ex = "Exercise 1.1 — encode and decode";
  const right = verdict(ex, () => [sameValue("encode('hi')", [46, 47], [46, 47]), closeNumber("loss", 4.1742, 4.174, 1e-3)]);
  assert.equal(right.status, "right");
  assert.equal(right.hint, undefined);
  const wrong = verdict(ex, () => [sameValue("encode('hi')", [47, 46], [46, 47]), closeNumber("loss", 4.3, 4.174, 1e-3)]);
  assert.equal(wrong.status, "wrong");
  assert.match(wrong.lines[0], /✗ encode\('hi'\): got \[47,46\], expected \[46,47\]/);
  assert.match(wrong.lines[1], /got 4\.3, expected 4\.174 \(off by 0\.126; allowed 0\.001\)/);
  assert.match(verdictText(wrong), /Hint: A token is a position in the sorted list/);
  assert.match(verdictText(wrong), /Still stuck\? exercises\.recipe\("1\.1"\) shows the recipe\./);
  assert.doesNotMatch(verdictText(wrong), /chars\.indexOf/, "the recipe is not shown until asked for");
  assert.match(exercises.recipe("1.1"), /chars\.indexOf\(c\)/);
  assert.throws(() => exercises.recipe("9.9"), /no exercise "9\.9" with a recipe/);
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = tf.tensor2d([[1, 2], [3, 4.5]]);
  const c = tf.tensor1d([1, 2, 3, 4]);
  assert.match(verdict("T", () => [closeTensor("wei", b, a, 1e-6)]).lines[0], /largest difference 0\.5 \(allowed 1\.00e-6\)/);
  assert.match(verdict("T", () => [closeTensor("wei", c, a, 1e-6)]).lines[0], /shape \(4\), expected \(2, 2\)/);
  assert.match(verdict("T", () => [closeTensor("wei", [1, 2], a, 1e-6)]).lines[0], /got an array of 2, expected a tensor of shape \(2, 2\)/);
  assert.equal(verdict("T", () => [closeTensor("wei", a.clone(), a, 0)]).status, "right");
  const thrown = verdict("T", () => { throw new Error("shapes (2,3) and (4,5) do not fit"); });
  assert.equal(thrown.status, "wrong");
  assert.match(thrown.lines[0], /your code threw: shapes/);
  tf.dispose([a, b, c]);
});

test("GPT_EXERCISES=strict turns any verdict that is not right into an error", () => {
  const saved = process.env.GPT_EXERCISES;
  const log = console.log;
  console.log = () => {};
  try {
    process.env.GPT_EXERCISES = "strict";
    assert.throws(() => report(verdict("Ex", () => [sameValue("x", 1, 2)])), /GPT_EXERCISES=strict: Ex: Not yet right/);
    assert.throws(() => report(verdict("Ex", () => [sameValue("x", todo(), 2)])), /Not done yet/);
    assert.equal(report(verdict("Ex", () => [sameValue("x", 2, 2)])).status, "right");
    delete process.env.GPT_EXERCISES;
    assert.equal(report(verdict("Ex", () => [sameValue("x", 1, 2)])).status, "wrong"); // the learner's run never throws
  } finally {
    console.log = log;
    if (saved === undefined) delete process.env.GPT_EXERCISES;
    else process.env.GPT_EXERCISES = saved;
  }
});
