/**
 * The lessons' instruments, so that a lesson's cells stay short and show one idea each: the proof that the learner's
 * code is the library's, a shape trace, a cost estimate, a timer, the three-number results table, the scale of
 * activations and gradients through a stack of blocks, and a stopped run's training state for a checkpoint.
 * `import { lab } from "@build-gpt/lib"`.
 */
export { compareWithLibrary, sameNumbers, largestDifference } from "./compare";
export { traceShapes, type ShapeTrace } from "./trace";
export { trainingCost, gptParameters, type TrainingCost } from "./cost";
export { timeIt, type Timing } from "./timer";
export { showResults, resultRows } from "./results-table";
export { blockStats, type BlockStat, type StackBlock } from "./block-stats";
export { showRows, rowsText, type Row } from "./show";
export { trainingState, type RunSoFar } from "./training-state";
