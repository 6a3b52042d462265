/**
 * The models of the transformer lessons: token + position embeddings, attention, a linear head.
 *   MultiHeadLanguageModel — the lecture's intermediate steps: multi-head attention (and a feed-forward layer), no blocks.
 *   GPTLanguageModel       — gpt.py: a stack of Blocks with residual paths (and LayerNorm), a final LayerNorm, the head.
 */
import * as tf from "@tensorflow/tfjs";
import { Block } from "../nn/block";
import { FeedForward } from "../nn/feed-forward";
import { LayerNorm } from "../nn/layer-norm";
import { Embedding, Linear } from "../nn/layers";
import { checkSizes } from "../nn/module";
import { headSizeOf, MultiHeadAttention } from "../nn/multi-head";
import type { Rng } from "../random";
import { EmbeddedLanguageModel } from "./embedded";

export interface GPTConfig {
  vocabSize: number;
  /** The longest context, T. */
  blockSize: number;
  /** Embedding width, C. */
  nEmbd: number;
  nHead: number;
  nLayer: number;
  /** Dropout probability (gpt.py: 0.2); 0 turns it off. */
  dropout?: number;
  /** Pre-norm LayerNorms in every block and a final LayerNorm (default true); false gives the lecture's residual step. */
  layerNorm?: boolean;
  /** "heads" (the lecture's Head modules, default) or "batched" (nanoGPT's CausalSelfAttention): the same maths. */
  attention?: "heads" | "batched";
  /** "gpt": weights from N(0, 0.02), zero biases, as gpt.py (default); "pytorch": PyTorch's default initialisation. */
  init?: "gpt" | "pytorch";
}

const GPT_KEYS = ["vocabSize", "blockSize", "nEmbd", "nHead", "nLayer", "dropout", "layerNorm", "attention", "init"];

/** Throws a clear error for a configuration that cannot build a model: sizes, types, and a typo in any key or value. */
export function validateConfig(config: GPTConfig): void {
  const where = "GPT config";
  const unknown = Object.keys(config).filter((k) => !GPT_KEYS.includes(k));
  if (unknown.length > 0) throw new Error(`${where}: unknown key ${unknown.map((k) => JSON.stringify(k)).join(", ")}; the keys are ${GPT_KEYS.join(", ")}.`);
  checkSizes(where, { vocabSize: config.vocabSize, blockSize: config.blockSize, nEmbd: config.nEmbd, nLayer: config.nLayer });
  headSizeOf(config.nEmbd, config.nHead, where);
  const { dropout = 0, layerNorm = true, attention = "heads", init = "gpt" } = config;
  if (!(typeof dropout === "number" && dropout >= 0 && dropout < 1)) throw new Error(`${where}: dropout must be a number in [0, 1), got ${JSON.stringify(dropout)}.`);
  if (typeof layerNorm !== "boolean") throw new Error(`${where}: layerNorm must be true or false, got ${JSON.stringify(layerNorm)}.`);
  if (!["heads", "batched"].includes(attention)) throw new Error(`${where}: attention must be "heads" or "batched", got ${JSON.stringify(attention)}.`);
  if (!["gpt", "pytorch"].includes(init)) throw new Error(`${where}: init must be "gpt" or "pytorch", got ${JSON.stringify(init)}.`);
}

export interface MultiHeadConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHead: number;
  /** Add the feed-forward layer (Linear nEmbd→nEmbd, ReLU) after attention. */
  feedForward: boolean;
}

/** Lesson 5's first steps: x -> MultiHeadAttention (nHead × nEmbd/nHead, concatenated) [-> FeedForward] -> logits. */
export class MultiHeadLanguageModel extends EmbeddedLanguageModel {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly tokenEmbeddingTable: Embedding;
  readonly positionEmbeddingTable: Embedding;
  readonly saHeads: MultiHeadAttention;
  readonly ffwd?: FeedForward;
  readonly lmHead: Linear;

  constructor(readonly config: MultiHeadConfig, rng: Rng) {
    super();
    checkSizes("MultiHeadLanguageModel", { vocabSize: config.vocabSize, blockSize: config.blockSize });
    const { vocabSize, blockSize, nEmbd, nHead } = config;
    const headSize = headSizeOf(nEmbd, nHead, "MultiHeadLanguageModel");
    this.vocabSize = vocabSize;
    this.blockSize = blockSize;
    this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, nEmbd));
    this.positionEmbeddingTable = this.module("position_embedding_table", new Embedding(blockSize, nEmbd));
    this.saHeads = this.module("sa_heads", new MultiHeadAttention(nEmbd, nHead, headSize, { projection: false }));
    if (config.feedForward) this.ffwd = this.module("ffwd", new FeedForward(nEmbd, { hiddenMultiple: 1, projection: false }));
    this.lmHead = this.module("lm_head", new Linear(nEmbd, vocabSize));
    this.initWeights(rng); // PyTorch's default initialisation, as the lecture's intermediate steps
  }

  /** idx (B, T) -> logits (B, T, vocabSize) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.saHeads.forward(this.embed(idx)); // (B, T, C)
      if (this.ffwd) x = this.ffwd.forward(x); // (B, T, C)
      return this.lmHead.forward(x); // (B, T, vocabSize)
    });
  }

}

/** gpt.py's GPTLanguageModel: embeddings -> nLayer Blocks -> final LayerNorm -> logits. */
export class GPTLanguageModel extends EmbeddedLanguageModel {
  readonly config: Required<GPTConfig>;
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly tokenEmbeddingTable: Embedding;
  readonly positionEmbeddingTable: Embedding;
  readonly blocks: Block[];
  readonly lnF?: LayerNorm;
  readonly lmHead: Linear;

  constructor(config: GPTConfig, rng: Rng) {
    super();
    validateConfig(config);
    this.config = { dropout: 0, layerNorm: true, attention: "heads", init: "gpt", ...config };
    const { vocabSize, blockSize, nEmbd, nHead, nLayer, dropout, layerNorm, attention, init } = this.config;
    this.vocabSize = vocabSize;
    this.blockSize = blockSize;
    this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, nEmbd));
    this.positionEmbeddingTable = this.module("position_embedding_table", new Embedding(blockSize, nEmbd));
    this.blocks = Array.from({ length: nLayer }, (_, i) => this.module(`blocks.${i}`, new Block(nEmbd, nHead, { layerNorm, attention, dropout })));
    if (layerNorm) this.lnF = this.module("ln_f", new LayerNorm(nEmbd));
    this.lmHead = this.module("lm_head", new Linear(nEmbd, vocabSize));
    this.initWeights(rng, { std: init === "gpt" ? 0.02 : undefined }); // gpt.py: self.apply(self._init_weights)
  }

  /** idx (B, T) -> logits (B, T, vocabSize) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.embed(idx); // (B, T, C)
      for (const block of this.blocks) x = block.forward(x); // (B, T, C)
      if (this.lnF) x = this.lnF.forward(x); // (B, T, C)
      return this.lmHead.forward(x); // (B, T, vocabSize)
    });
  }

}
