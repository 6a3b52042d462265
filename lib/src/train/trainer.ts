/** The training loop of the lecture: sample a batch, compute the loss, backpropagate, update; evaluate now and then. */
import * as tf from "@tensorflow/tfjs";
import { checkTokenIds, firstOutside, getBatch, type Split } from "../data/batches";
import type { LanguageModel } from "../models/language-model";
import type { TrainProgress, TrainStatus } from "../progress/status";
import { Rng } from "../random";
import type { AdamW } from "./adamw";
import { nextTurn, TrainingInterrupted, watchInterrupts, type InterruptWatch, type Signal } from "./interrupt";
import { checkStepMemory } from "./memory";
import { checkSchedule, learningRate, type LrSchedule } from "./schedule";
import { checkMicroBatches, readScalars, trainStep, TrainingDiverged } from "./step";
import type { BatchShape, EvalPoint, TrainResult } from "./types";

export type { BatchShape, EvalPoint, TrainResult } from "./types";

/**
 * The mean loss over every position of `tokens`, in evaluation mode: the text cut into consecutive windows of blockSize
 * (the last one shorter), batchSize windows a forward pass, each batch's loss weighted by its tokens. The same
 * expectation as random batches (a position sees 0 to blockSize − 1 tokens of context either way), without their noise.
 */
async function wholeMeanLoss(model: LanguageModel, tokens: Int32Array, { batchSize, blockSize }: BatchShape, safePoint?: () => Promise<void>): Promise<number> {
  const targets = tokens.length - 1;
  if (targets < 1) throw new Error(`wholeLoss: the text (${tokens.length} tokens) needs at least 2 tokens, an input and its target.`);
  const losses: tf.Scalar[] = [];
  const weights: number[] = [];
  try {
    for (let start = 0; start < targets; ) {
      const T = Math.min(blockSize, targets - start); // the last window may be shorter
      const B = T < blockSize ? 1 : Math.min(batchSize, Math.floor((targets - start) / blockSize));
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++, start += T) {
        x.set(tokens.subarray(start, start + T), b * T);
        y.set(tokens.subarray(start + 1, start + T + 1), b * T);
      }
      losses.push(tf.tidy(() => model.loss(tf.tensor2d(x, [B, T], "int32"), tf.tensor2d(y, [B, T], "int32"))));
      weights.push(B * T);
      await safePoint?.();
    }
    const values = await readScalars(losses);
    return values.reduce((sum, v, i) => sum + v * weights[i], 0) / targets;
  } finally {
    tf.dispose(losses);
  }
}

/**
 * The mean loss over `evalIters` random batches of each split (with `wholeVal`, val's over every position of the val
 * text instead), in evaluation mode, the model's mode restored after. `safePoint` is awaited after each batch
 * (train() gives the event loop a turn there, and may stop). Each split's losses are read once, together.
 */
async function meanLosses(model: LanguageModel, split: Split, evalIters: number, shape: BatchShape, rng: Rng, safePoint?: () => Promise<void>, wholeVal = false): Promise<{ train: number; val: number }> {
  return model.inEvalMode(async () => {
    const out = { train: 0, val: 0 };
    for (const name of ["train", "val"] as const) {
      if (name === "val" && wholeVal) {
        out.val = await wholeMeanLoss(model, split.val, shape, safePoint);
        continue;
      }
      const losses: tf.Scalar[] = [];
      try {
        for (let k = 0; k < evalIters; k++) {
          losses.push(tf.tidy(() => {
            const { x, y } = getBatch(split[name], shape.batchSize, shape.blockSize, rng);
            return model.loss(x, y);
          }));
          await safePoint?.();
        }
        let sum = 0;
        for (const v of await readScalars(losses)) sum += v;
        out[name] = sum / evalIters;
      } finally {
        tf.dispose(losses);
      }
    }
    return out;
  });
}

function checkPositiveIntegers(values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${k} must be a positive integer, got ${v}.`);
  }
}

/**
 * The lecture's estimate_loss(): the mean loss over `evalIters` random batches of each split, in evaluation mode.
 * One batch's loss is noisy; the mean over many is the number worth comparing.
 */
export async function estimateLoss(model: LanguageModel, split: Split, evalIters: number, shape: BatchShape, rng: Rng): Promise<{ train: number; val: number }> {
  checkPositiveIntegers({ evalIters });
  checkTokenIds(split, model.vocabSize);
  return meanLosses(model, split, evalIters, shape, rng);
}

/**
 * The mean loss over every position of `tokens` (a whole split: the val text, say), in evaluation mode: consecutive
 * windows of blockSize, batchSize of them a forward pass. Deterministic, where estimateLoss() samples; it costs one
 * forward pass per batchSize × blockSize tokens of the text.
 */
export async function wholeLoss(model: LanguageModel, tokens: Int32Array, shape: BatchShape): Promise<number> {
  checkPositiveIntegers({ batchSize: shape.batchSize, blockSize: shape.blockSize });
  const i = firstOutside(tokens, model.vocabSize);
  if (i >= 0) {
    throw new Error(`wholeLoss: token id ${tokens[i]} (at index ${i}) is outside the model's vocabulary of ${model.vocabSize} tokens. Encode the text with the tokenizer the model was built for.`);
  }
  return model.inEvalMode(() => wholeMeanLoss(model, tokens, shape));
}

export interface TrainOptions extends BatchShape {
  /** Train until this many steps have been taken (with maxMinutes, at most this many). */
  maxIters: number;
  /** Evaluate every this many steps (and after the last one). */
  evalInterval: number;
  /** Batches averaged per split at each evaluation. */
  evalIters: number;
  /**
   * Measure val on the whole val text at each evaluation (wholeLoss()) instead of evalIters random batches: the
   * model's val loss itself, with no sampling noise in it. Default false, the lecture's estimate.
   */
  wholeVal?: boolean;
  /**
   * Steps already taken (resuming from a checkpoint): the run takes steps startStep+1 .. maxIters, evaluating at each
   * multiple of evalInterval from startStep on and after the last step. Default 0.
   */
  startStep?: number;
  /** The random source for batches; default: a new Rng(1337). */
  rng?: Rng;
  /**
   * The learning rate over the run (warm-up, then constant or a cosine to minLr), set on the optimizer before each
   * step; the cosine ends with maxIters, or with maxMinutes when there is a budget. Default: the optimizer's lr throughout.
   */
  schedule?: LrSchedule;
  /** Clip the gradient's global norm to this before each update (nanoGPT: 1.0); default 0, none. */
  gradClip?: number;
  /**
   * A time budget: stop once this many minutes of training (evaluations included) are spent, stopping in time for a
   * last evaluation (timed as the one before it took). The schedule's cosine follows the clock. Default: none.
   */
  maxMinutes?: number;
  /** Milliseconds of the budget spent before this run (resuming a budgeted run). Default 0. */
  spentMs?: number;
  /** Called after each completed step, before any evaluation at that step (a resumable point: save the random state here). */
  onStep?: (step: number, loss: number) => void;
  /** Called after each evaluation (print it, plot it, save a checkpoint); a promise it returns is awaited before the next step. */
  onEval?: (point: EvalPoint, history: EvalPoint[]) => void | Promise<void>;
  /** Split each batch into this many parts and accumulate their gradients (less memory, same step). Default 1. */
  microBatches?: number;
  /** Where to show progress as it trains: liveProgress() in a notebook, terminalProgress() in a script. */
  progress?: TrainProgress;
  /** Stop at the next step boundary once this is aborted (train() then throws TrainingInterrupted). */
  signal?: AbortSignal;
  /**
   * Stop at the next step boundary on SIGINT, the kernel's interrupt (train() then throws TrainingInterrupted).
   * Default: when the process already handles SIGINT, as the tslab kernel does; a script keeps Ctrl-C's default.
   * The signals to stop on may be listed instead (a command saves on SIGTERM and SIGHUP too).
   */
  interruptible?: boolean | Signal[];
}

/** How often train() gives the event loop a turn: displays get drawn, and an interrupt lands within this (or one step). */
const TURN_MS = 100;

/** The models a train() call is running on: a second call on one of them would interleave its steps with the first's. */
const training = new WeakSet<LanguageModel>();

/** The optimizer must update exactly the model's parameters, or training changes nothing (or another model). */
function checkOptimizer(model: LanguageModel, optimizer: AdamW): void {
  const own = new Set(model.parameters());
  const held = new Set(optimizer.params);
  const missing = [...own].filter((p) => !held.has(p)).length;
  const extra = [...held].filter((p) => !own.has(p)).length;
  if (missing > 0 || extra > 0) {
    throw new Error(
      `train: the optimizer does not hold this model's parameters (${missing} of the model's ${own.size} missing, ` +
        `${extra} that are not the model's). Build it for this model: new AdamW(model.parameters(), { lr }).`,
    );
  }
}

/** Evaluations a run makes: each multiple of evalInterval in [startStep, maxIters], and maxIters if it is not one. */
const evaluationsIn = (startStep: number, maxIters: number, evalInterval: number) =>
  Math.floor(maxIters / evalInterval) - Math.ceil(startStep / evalInterval) + 1 + (maxIters % evalInterval === 0 ? 0 : 1);

function checkOptions(options: TrainOptions): void {
  const { maxIters, evalInterval, evalIters, batchSize, blockSize, startStep = 0, microBatches = 1, maxMinutes, spentMs = 0, gradClip = 0 } = options;
  checkPositiveIntegers({ maxIters, evalInterval, evalIters, batchSize, blockSize });
  if (!(Number.isInteger(startStep) && startStep >= 0 && startStep <= maxIters)) {
    throw new Error(`startStep must be an integer in [0, ${maxIters}] (the steps already taken, at most maxIters), got ${startStep}.`);
  }
  checkMicroBatches(batchSize, microBatches);
  if (maxMinutes !== undefined && !(Number.isFinite(maxMinutes) && maxMinutes > 0)) throw new Error(`maxMinutes must be a number of minutes > 0, got ${maxMinutes}.`);
  if (!(Number.isFinite(spentMs) && spentMs >= 0)) throw new Error(`spentMs must be the milliseconds already spent (>= 0), got ${spentMs}.`);
  if (!(Number.isFinite(gradClip) && gradClip >= 0)) throw new Error(`gradClip must be a number >= 0 (0: no clipping), got ${gradClip}.`);
  if (options.schedule) checkSchedule(options.schedule);
}

/**
 * Trains `model` from step `startStep` (default 0) to `maxIters`, or until `maxMinutes` are spent, evaluating at every
 * multiple of `evalInterval` and after the last step. One plain async loop: at each safe point (a step boundary,
 * between two evaluation batches) it reports progress, gives the event loop a turn every 100 ms so that a notebook
 * stays responsive, and stops if asked (kernel interrupt, `signal`): it throws TrainingInterrupted, with the model and
 * optimizer as they were after the last completed step and no tensor left behind. A loss that is not finite stops it
 * with TrainingDiverged. Before the first step it checks that a step fits the engine's memory (StepTooLarge if not).
 */
export async function train(model: LanguageModel, optimizer: AdamW, split: Split, options: TrainOptions): Promise<TrainResult> {
  checkOptions(options);
  const { maxIters, evalInterval, evalIters, batchSize, blockSize, startStep = 0, rng = new Rng(), onEval, microBatches = 1, progress, signal, schedule, gradClip = 0, spentMs = 0, wholeVal = false } = options;
  const budgetMs = options.maxMinutes === undefined ? undefined : options.maxMinutes * 60_000;
  checkOptimizer(model, optimizer);
  checkTokenIds(split, model.vocabSize);
  if (training.has(model)) {
    throw new Error("train: this model is already training (an earlier train() call on it has not finished). Await it, or stop it with its signal, first.");
  }
  training.add(model);
  const shape = { batchSize, blockSize };
  const history: EvalPoint[] = [];
  const stepLosses: number[] = [];
  const status: TrainStatus = {
    step: startStep, startStep, maxIters, tokensPerStep: batchSize * blockSize, elapsedMs: 0, stepMs: 0, evalMs: 0,
    evals: 0, evalsTotal: evaluationsIn(startStep, maxIters, evalInterval), evaluating: false, state: "running",
    ...(budgetMs === undefined ? {} : { budgetMs, spentMs }),
  };
  const start = performance.now();
  const result = (): TrainResult => ({ history, stepLosses, elapsedMs: performance.now() - start });
  /** The share of the run behind us: of the budget's time, or of the steps. */
  const progressAt = (step: number) => budgetMs !== undefined
    ? (spentMs + performance.now() - start) / budgetMs
    : (step - (schedule?.warmupIters ?? 0)) / Math.max(1, maxIters - (schedule?.warmupIters ?? 0));
  /** Whether the budget, less the time an evaluation takes, is spent: stop and evaluate now. */
  let lastEvalMs = 0;
  const outOfTime = () => budgetMs !== undefined && spentMs + performance.now() - start + lastEvalMs >= budgetMs;
  let interrupts: InterruptWatch | undefined;
  let lastTurn = -Infinity;
  /** Report, give the event loop a turn if it is time, and stop if asked to. */
  const safePoint = async () => {
    status.elapsedMs = performance.now() - start;
    progress?.update(status, history);
    if (performance.now() - lastTurn >= TURN_MS) {
      await nextTurn();
      lastTurn = performance.now();
    }
    if (signal?.aborted || interrupts?.interrupted) throw new TrainingInterrupted(status.step, result(), interrupts?.signal);
  };
  const evaluate = async (step: number) => {
    const t0 = performance.now();
    status.evaluating = true;
    let point: EvalPoint;
    try {
      const losses = await meanLosses(model, split, evalIters, shape, rng, safePoint, wholeVal);
      for (const name of ["train", "val"] as const) {
        if (!Number.isFinite(losses[name])) {
          throw new TrainingDiverged(step, losses[name], optimizer.lr, result(), `the mean ${name} loss is ${losses[name]} after step ${step}`);
        }
      }
      point = { step, ...losses, elapsedMs: performance.now() - start };
      history.push(point);
      Object.assign(status, { lastEval: point, evals: status.evals + 1 });
    } finally {
      lastEvalMs = performance.now() - t0;
      status.evalMs += lastEvalMs;
      status.evaluating = false;
    }
    await onEval?.(point, history);
  };
  try {
    // Leave the cell's synchronous part first. While tslab runs it, node's vm takes SIGINT's listeners away and an
    // interrupt terminates the script wherever it is (mid-step, tensors half made); from here on, SIGINT is an event.
    await nextTurn();
    interrupts = watchInterrupts(options.interruptible);
    if (startStep < maxIters) await checkStepMemory(model, split.train, shape, microBatches);
    model.train();
    for (let step = startStep; ; step++) {
      const last = step === maxIters || outOfTime();
      if (step % evalInterval === 0 || last) await evaluate(step);
      if (last) break;
      const t0 = performance.now();
      if (schedule) optimizer.lr = learningRate(schedule, step, progressAt(step));
      const { x, y } = getBatch(split.train, batchSize, blockSize, rng);
      try {
        status.loss = await trainStep(model, optimizer, x, y, { microBatches, gradClip });
      } catch (err) {
        if (err instanceof TrainingDiverged) throw new TrainingDiverged(step + 1, err.loss, err.lr, result());
        throw err;
      } finally {
        tf.dispose([x, y]);
      }
      stepLosses.push(status.loss);
      status.step = step + 1;
      options.onStep?.(status.step, status.loss);
      status.stepMs += performance.now() - t0;
      await safePoint();
    }
    status.state = "done";
    status.elapsedMs = performance.now() - start;
    return { history, stepLosses, elapsedMs: status.elapsedMs };
  } catch (err) {
    status.state = err instanceof TrainingInterrupted ? "interrupted" : "failed";
    status.elapsedMs = performance.now() - start;
    throw err;
  } finally {
    training.delete(model);
    interrupts?.close();
    progress?.end(status, history);
  }
}
