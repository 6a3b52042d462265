/**
 * The lecture's loss ladder: every model from the bigram to the lecture notebook's final GPT, with the settings the
 * lecture trained it at and the validation loss it reported. Shared by `npm run ladder` and the lessons; the settings
 * themselves live in the registry of configurations (./configs).
 */
import { buildModel, configNamed, type ModelConfiguration } from "./configs";
import type { LanguageModel } from "./models/language-model";
import type { Rng } from "./random";

export interface LadderStep {
  /** Short id: the configuration's name (npm run ladder -- --configs ID,...; npm run train -- --config ID). */
  id: string;
  title: string;
  /** The validation loss the lecture reported for this step. */
  lectureVal: number;
  batchSize: number;
  blockSize: number;
  learningRate: number;
  maxIters: number;
  evalInterval: number;
  evalIters: number;
  /** The whole configuration, from the registry. */
  config: ModelConfiguration;
  build: (vocabSize: number, rng: Rng) => LanguageModel;
}

const RUNGS = ["bigram", "one-head", "multi-head", "feed-forward", "residual", "layer-norm", "notebook-final"];

function step(name: string): LadderStep {
  const c = configNamed(name);
  const { batchSize, blockSize, learningRate, maxIters, evalInterval, evalIters } = c;
  return {
    id: c.name, title: c.title, lectureVal: c.reportedVal!, batchSize, blockSize, learningRate, maxIters, evalInterval, evalIters,
    config: c, build: (vocabSize, rng) => buildModel(c, vocabSize, rng),
  };
}

export const LADDER: LadderStep[] = RUNGS.map(step);
