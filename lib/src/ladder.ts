/**
 * The lecture's loss ladder: every model from the bigram to the lecture notebook's final GPT, with the settings the
 * lecture trained it at and the validation loss it reported. Shared by `npm run ladder` and the lessons.
 */
import { BigramLanguageModel } from "./models/bigram";
import { GPTLanguageModel, MultiHeadLanguageModel } from "./models/gpt";
import type { LanguageModel } from "./models/language-model";
import { SingleHeadLanguageModel } from "./models/single-head";
import { Rng } from "./random";

export interface LadderStep {
  /** Short id, for --steps. */
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
  build: (vocabSize: number, rng: Rng) => LanguageModel;
}

const small = { batchSize: 32, blockSize: 8, learningRate: 1e-3, maxIters: 5000, evalInterval: 500, evalIters: 200 };

export const LADDER: LadderStep[] = [
  {
    id: "bigram", title: "bigram", lectureVal: 2.49,
    batchSize: 32, blockSize: 8, learningRate: 1e-2, maxIters: 3000, evalInterval: 300, evalIters: 200,
    build: (vocabSize, rng) => new BigramLanguageModel(vocabSize, rng),
  },
  {
    id: "one-head", title: "+ one self-attention head (32)", lectureVal: 2.4, ...small,
    build: (vocabSize, rng) => new SingleHeadLanguageModel({ vocabSize, blockSize: 8, nEmbd: 32 }, rng),
  },
  {
    id: "multi-head", title: "multi-head attention (4 × 8)", lectureVal: 2.28, ...small,
    build: (vocabSize, rng) => new MultiHeadLanguageModel({ vocabSize, blockSize: 8, nEmbd: 32, nHead: 4, feedForward: false }, rng),
  },
  {
    id: "feed-forward", title: "+ feed-forward", lectureVal: 2.24, ...small,
    build: (vocabSize, rng) => new MultiHeadLanguageModel({ vocabSize, blockSize: 8, nEmbd: 32, nHead: 4, feedForward: true }, rng),
  },
  {
    id: "residual", title: "+ residual, projections, 4x MLP, 3 blocks", lectureVal: 2.08, ...small,
    build: (vocabSize, rng) => new GPTLanguageModel({ vocabSize, blockSize: 8, nEmbd: 32, nHead: 4, nLayer: 3, layerNorm: false, init: "pytorch" }, rng),
  },
  {
    id: "layer-norm", title: "+ LayerNorm (pre-norm, final)", lectureVal: 2.06, ...small,
    build: (vocabSize, rng) => new GPTLanguageModel({ vocabSize, blockSize: 8, nEmbd: 32, nHead: 4, nLayer: 3, layerNorm: true, init: "pytorch" }, rng),
  },
  {
    // The lecture notebook evaluates every 100 steps; every 500 gives the same final estimate in a fifth of the time.
    id: "notebook-final", title: "notebook's final model (64, 4 heads, 4 layers, block 32)", lectureVal: 1.8226,
    batchSize: 16, blockSize: 32, learningRate: 1e-3, maxIters: 5000, evalInterval: 500, evalIters: 200,
    build: (vocabSize, rng) => new GPTLanguageModel({ vocabSize, blockSize: 32, nEmbd: 64, nHead: 4, nLayer: 4, init: "pytorch", attention: "batched" }, rng),
  },
];
