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
import { MultiHeadAttention } from "../nn/multi-head";
import { Rng } from "../random";
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

const isPositiveInt = (n: unknown) => Number.isInteger(n) && (n as number) >= 1;

/** Throws a clear error for a configuration that cannot build a model. */
export function validateConfig(config: GPTConfig): void {
  for (const key of ["vocabSize", "blockSize", "nEmbd", "nHead", "nLayer"] as const) {
    if (!isPositiveInt(config[key])) throw new Error(`GPT config: ${key} must be a positive integer, got ${config[key]}.`);
  }
  if (config.nEmbd % config.nHead !== 0) {
    throw new Error(`GPT config: nEmbd (${config.nEmbd}) must be divisible by nHead (${config.nHead}), so that each head gets nEmbd / nHead channels.`);
  }
  const dropout = config.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`GPT config: dropout must be in [0, 1), got ${dropout}.`);
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

  constructor(readonly config: MultiHeadConfig, rng: Rng = new Rng()) {
    super();
    validateConfig({ ...config, nLayer: 1 });
    const { vocabSize, blockSize, nEmbd, nHead } = config;
    this.vocabSize = vocabSize;
    this.blockSize = blockSize;
    this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, nEmbd, rng));
    this.positionEmbeddingTable = this.module("position_embedding_table", new Embedding(blockSize, nEmbd, rng));
    this.saHeads = this.module("sa_heads", new MultiHeadAttention(nEmbd, nHead, nEmbd / nHead, { projection: false, rng }));
    if (config.feedForward) this.ffwd = this.module("ffwd", new FeedForward(nEmbd, { hiddenMultiple: 1, projection: false, rng }));
    this.lmHead = this.module("lm_head", new Linear(nEmbd, vocabSize, { rng }));
  }

  /** idx (B, T) -> logits (B, T, vocabSize) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.saHeads.forward(this.embed(idx)); // (B, T, C)
      if (this.ffwd) x = this.ffwd.forward(x); // (B, T, C)
      return this.lmHead.forward(x); // (B, T, vocabSize)
    });
  }

  /** The attention weights: idx (B, T) -> (B, nHead, T, T) */
  attentionWeights(idx: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => [this.saHeads.attention(this.embed(idx))]);
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

  constructor(config: GPTConfig, rng: Rng = new Rng()) {
    super();
    validateConfig(config);
    this.config = { dropout: 0, layerNorm: true, attention: "heads", init: "gpt", ...config };
    const { vocabSize, blockSize, nEmbd, nHead, nLayer, dropout, layerNorm, attention, init } = this.config;
    const std = init === "gpt" ? 0.02 : undefined;
    this.vocabSize = vocabSize;
    this.blockSize = blockSize;
    this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, nEmbd, rng, { std }));
    this.positionEmbeddingTable = this.module("position_embedding_table", new Embedding(blockSize, nEmbd, rng, { std }));
    this.blocks = Array.from({ length: nLayer }, (_, i) => this.module(`blocks.${i}`, new Block(nEmbd, nHead, { layerNorm, attention, dropout, rng, std })));
    if (layerNorm) this.lnF = this.module("ln_f", new LayerNorm(nEmbd));
    this.lmHead = this.module("lm_head", new Linear(nEmbd, vocabSize, { rng, std }));
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

  /** Every block's attention weights, as the forward pass computes them: idx (B, T) -> nLayer × (B, nHead, T, T) */
  attentionWeights(idx: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const maps: tf.Tensor4D[] = [];
      let x = this.embed(idx);
      for (const block of this.blocks) {
        maps.push(block.attention(x));
        x = block.forward(x);
      }
      return maps;
    });
  }
}
