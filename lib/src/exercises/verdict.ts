/**
 * The exercises' checks: each takes what the learner wrote, compares it with the library's answer and returns a
 * Verdict — right, or what is off and by how much. A wrong answer shows the exercise's nudge, which names the idea
 * without giving the answer away; `recipe("2.2")` shows the whole recipe when the learner asks (./hints).
 * `report` shows the verdict under the cell.
 *
 * An exercise cell starts as `todo("...")`, which throws ExerciseTodo; a check that meets it says "not done yet"
 * instead of failing, so a lesson runs from top to bottom before the learner has written anything.
 * GPT_EXERCISES=strict (the solutions run in CI) makes every verdict that is not right an error.
 */
import { inspect } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { inNotebook, tslabDisplay } from "../notebook/display";
import { HINTS } from "./hints";

export type VerdictStatus = "right" | "wrong" | "todo";

export interface Verdict {
  /** The exercise, as the lesson names it: "Exercise 2.1 — the bigram model". */
  exercise: string;
  status: VerdictStatus;
  /** What was checked and what was found, one fact a line: "encode('hii there'): right". */
  lines: string[];
  /** Where to look when something is off: the exercise's nudge. */
  hint?: string;
  /** The exercise's number ("2.2"), for recipe(). */
  id?: string;
}

/** Thrown by a placeholder the learner has not replaced yet. */
export class ExerciseTodo extends Error {
  constructor(readonly task: string) {
    super(`Not written yet: ${task}. Replace the todo(...) in the exercise cell with your code, then run it and the check again.`);
    this.name = "ExerciseTodo";
  }
}

/** The placeholder in an exercise cell: `const encode = (s: string): number[] => todo("encode")`. */
export function todo(task = "this exercise"): never {
  throw new ExerciseTodo(task);
}

/** A line that says whether `actual` equals `expected` (deep equality of plain values, arrays, typed arrays). */
export interface Finding {
  ok: boolean;
  line: string;
}

export function sameValue(what: string, actual: unknown, expected: unknown): Finding {
  const show = (v: unknown) => {
    const s = JSON.stringify(ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  };
  const ok = JSON.stringify(plain(actual)) === JSON.stringify(plain(expected));
  return { ok, line: ok ? `${what}: ${show(actual)} — right` : `${what}: got ${show(actual)}, expected ${show(expected)}` };
}

function plain(v: unknown): unknown {
  return ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v;
}

/** A line that says whether a number is within `tolerance` of the expected one. */
export function closeNumber(what: string, actual: unknown, expected: number, tolerance: number): Finding {
  if (typeof actual !== "number" || Number.isNaN(actual)) return { ok: false, line: `${what}: got ${String(actual)}, expected a number near ${fmt(expected)}` };
  const off = Math.abs(actual - expected);
  return off <= tolerance
    ? { ok: true, line: `${what}: ${fmt(actual)} — right (within ${fmt(tolerance)} of ${fmt(expected)})` }
    : { ok: false, line: `${what}: got ${fmt(actual)}, expected ${fmt(expected)} (off by ${fmt(off)}; allowed ${fmt(tolerance)})` };
}

/** A line that compares two tensors: the shape first, then the largest difference against `tolerance`. */
export function closeTensor(what: string, actual: unknown, expected: tf.Tensor, tolerance: number): Finding {
  if (!(actual instanceof tf.Tensor)) return { ok: false, line: `${what}: got ${describe(actual)}, expected a tensor of shape (${expected.shape.join(", ")})` };
  if (actual.isDisposed) return { ok: false, line: `${what}: the tensor was disposed before the check could read it` };
  if (actual.shape.join(",") !== expected.shape.join(",")) {
    return { ok: false, line: `${what}: shape (${actual.shape.join(", ")}), expected (${expected.shape.join(", ")})` };
  }
  const diff = tf.tidy(() => actual.toFloat().sub(expected.toFloat()).abs().max().dataSync()[0]);
  return diff <= tolerance
    ? { ok: true, line: `${what}: shape (${actual.shape.join(", ")}), largest difference ${fmt(diff)} — right` }
    : { ok: false, line: `${what}: largest difference ${fmt(diff)} (allowed ${fmt(tolerance)})` };
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === "object" ? `a ${(v as object).constructor?.name ?? "object"}` : `${typeof v} ${String(v)}`;
}

const fmt = (x: number) => (x === 0 ? "0" : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? String(Number(x.toPrecision(4))) : x.toExponential(2));

/** "2.2" of "Exercise 2.2 — cross-entropy by hand". */
const idOf = (exercise: string) => /Exercise (\d+\.\d+)/.exec(exercise)?.[1];

/**
 * Runs the learner's part (`attempt`) and judges it: a Verdict from the findings `judge` returns. A todo() is
 * "not done yet"; any other error the attempt throws is a wrong answer that quotes the error. Tensors the check
 * makes are disposed; the learner's own are theirs. A wrong answer carries the exercise's nudge.
 */
export function verdict(exercise: string, attempt: () => Finding[]): Verdict {
  const id = idOf(exercise);
  const hint = id ? HINTS[id]?.nudge : undefined;
  let findings: Finding[];
  try {
    findings = attempt();
  } catch (err) {
    if (err instanceof ExerciseTodo) return { exercise, id, status: "todo", lines: [err.message] };
    return { exercise, id, status: "wrong", lines: [`your code threw: ${(err as Error).message ?? String(err)}`], hint };
  }
  const ok = findings.length > 0 && findings.every((f) => f.ok);
  return { exercise, id, status: ok ? "right" : "wrong", lines: findings.map((f) => `${f.ok ? "✓" : "✗"} ${f.line}`), hint: ok ? undefined : hint };
}

/** verdict() for an attempt that awaits (training, generation). */
export async function verdictAsync(exercise: string, attempt: () => Promise<Finding[]>): Promise<Verdict> {
  let findings: Finding[] = [];
  try {
    findings = await attempt();
  } catch (err) {
    return verdict(exercise, () => {
      throw err;
    });
  }
  return verdict(exercise, () => findings);
}

/** The whole recipe of exercise `id` ("2.2"), for when the nudge was not enough; shown under the cell and returned. */
export function recipe(id: string): string {
  const hints = HINTS[id];
  if (!hints) throw new Error(`There is no exercise ${JSON.stringify(id)} with a recipe. The exercises: ${Object.keys(HINTS).join(", ")}.`);
  const text = `Exercise ${id}, the recipe: ${hints.recipe}`;
  if (inNotebook()) tslabDisplay().html(`<div style="border-left:4px solid #6e7781;padding:4px 10px">${escape(text)}</div>`);
  else console.log(text);
  return hints.recipe;
}

/** Whether checks must pass (GPT_EXERCISES=strict: CI's run with the reference solutions filled in). */
export function strictExercises(): boolean {
  return (process.env.GPT_EXERCISES ?? "").trim().toLowerCase() === "strict";
}

const TITLE: Record<VerdictStatus, string> = { right: "Right", wrong: "Not yet right", todo: "Not done yet" };
const COLOUR: Record<VerdictStatus, string> = { right: "#1a7f37", wrong: "#cf222e", todo: "#6e7781" };

/** What to run for the recipe, under a wrong answer's hint. */
const askLine = (v: Verdict) => (v.status === "wrong" && v.id && HINTS[v.id] ? `Still stuck? exercises.recipe("${v.id}") shows the recipe.` : undefined);

/** The verdict as text: a title line, the findings, the hint. */
export function verdictText(v: Verdict): string {
  const ask = askLine(v);
  return [`${v.exercise}: ${TITLE[v.status]}`, ...v.lines.map((l) => `  ${l}`), ...(v.hint ? [`  Hint: ${v.hint}`] : []), ...(ask ? [`  ${ask}`] : [])].join("\n");
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The verdict as a small coloured box for a notebook. */
export function verdictHtml(v: Verdict): string {
  const lines = v.lines.map((l) => `<div>${escape(l)}</div>`).join("");
  const ask = askLine(v);
  const hint = (v.hint ? `<div style="margin-top:4px"><b>Hint:</b> ${escape(v.hint)}</div>` : "") + (ask ? `<div>${escape(ask)}</div>` : "");
  return `<div style="border-left:4px solid ${COLOUR[v.status]};padding:4px 10px;font-family:monospace;white-space:pre-wrap">` +
    `<div style="color:${COLOUR[v.status]};font-weight:bold">${escape(v.exercise)}: ${TITLE[v.status]}</div>${lines}${hint}</div>`;
}

/**
 * Shows the verdict under the cell (a box in a notebook, text elsewhere) and returns it. In strict mode a verdict that
 * is not right throws, so that CI's solutions run fails on it.
 * A check is a cell's last line, and tslab prints what a cell's last line returns: the verdict prints as nothing more in
 * a notebook (the box is shown), as its text elsewhere.
 */
export function report(v: Verdict): Verdict {
  if (inNotebook()) tslabDisplay().html(verdictHtml(v));
  else console.log(verdictText(v));
  if (strictExercises() && v.status !== "right") throw new Error(`GPT_EXERCISES=strict: ${verdictText(v)}`);
  return Object.defineProperty(v, inspect.custom, { value: () => (inNotebook() ? "" : verdictText(v)), enumerable: false, configurable: true });
}
