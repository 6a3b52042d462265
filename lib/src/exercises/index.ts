/**
 * The lessons' exercises: the learner's code in, a verdict out. The shared machinery is in verdict.ts; each lesson's
 * checks are in lessonN.ts, imported as `exercises.lessonN` (import { exercises } from "@build-gpt/lib").
 */
export { todo, report, verdict, verdictAsync, verdictText, verdictHtml, sameValue, closeNumber, closeTensor, strictExercises, ExerciseTodo, type Verdict, type VerdictStatus, type Finding } from "./verdict";
export * as lesson6 from "./lesson6";
