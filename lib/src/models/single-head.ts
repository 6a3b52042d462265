/**
 * Lesson 4's language model: the bigram model plus one head of self-attention. Tokens now look at their past:
 * token and position embeddings, one causal self-attention head, and a linear layer to the vocabulary.
 */
import * as tf from "@tensorflow/tfjs";
import { Head } from "../nn/attention";
import { Embedding, Linear } from "../nn/layers";
import { checkSizes } from "../nn/module";
import type { Rng } from "../random";
import { EmbeddedLanguageModel } from "./embedded";

export interface SingleHeadConfig {
  vocabSize: number;
  /** The longest context: the position table has one row per position. The lecture: 8. */
  blockSize: number;
  /** The embedding size C. The lecture: 32. */
  nEmbd: number;
  /** The head's size; the lecture uses headSize = nEmbd. */
  headSize?: number;
}

export class SingleHeadLanguageModel extends EmbeddedLanguageModel {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly nEmbd: number;
  readonly headSize: number;
  readonly tokenEmbeddingTable: Embedding;
  readonly positionEmbeddingTable: Embedding;
  readonly saHead: Head;
  readonly lmHead: Linear;

  constructor({ vocabSize, blockSize, nEmbd, headSize = nEmbd }: SingleHeadConfig, rng: Rng) {
    super();
    checkSizes("SingleHeadLanguageModel", { vocabSize, blockSize, nEmbd, headSize });
    this.vocabSize = vocabSize;
    this.blockSize = blockSize;
    this.nEmbd = nEmbd;
    this.headSize = headSize;
    this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, nEmbd));
    this.positionEmbeddingTable = this.module("position_embedding_table", new Embedding(blockSize, nEmbd));
    this.saHead = this.module("sa_head", new Head(nEmbd, headSize));
    this.lmHead = this.module("lm_head", new Linear(headSize, vocabSize));
    this.initWeights(rng);
  }

  /** idx (B, T) int32, T <= blockSize -> logits (B, T, vocabSize) */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const x = this.embed(idx); // (B, T, C): what each token is, and where
      const out = this.saHead.forward(x); // (B, T, headSize): what each token gathered from its past
      return this.lmHead.forward(out); // (B, T, vocabSize)
    });
  }
}
