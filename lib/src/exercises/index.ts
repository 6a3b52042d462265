/**
 * The lessons' exercises: the learner's code in, a verdict out. The shared machinery is in verdict.ts; each lesson's
 * checks are in lessonN.ts, imported as `exercises.lessonN` (import { exercises } from "@build-gpt/lib").
 */
export { todo, recipe, report, verdict, verdictAsync, verdictText, verdictHtml, sameValue, closeNumber, closeTensor, strictExercises, ExerciseTodo, type Verdict, type VerdictStatus, type Finding } from "./verdict";
export * as lesson1 from "./lesson1";
export * as lesson2 from "./lesson2";
export * as lesson3 from "./lesson3";
export * as lesson4 from "./lesson4";
export * as lesson5 from "./lesson5";
export * as lesson6 from "./lesson6";
export * as lesson7 from "./lesson7";
