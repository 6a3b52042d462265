/** The bigram language model: each token reads the logits for the next token straight off a lookup table. */
import * as tf from "@tensorflow/tfjs";
import { Embedding } from "../nn/layers";
import { checkSizes } from "../nn/module";
import type { Rng } from "../random";
import { LanguageModel } from "./language-model";

export class BigramLanguageModel extends LanguageModel {
  readonly blockSize = undefined;
  readonly tokenEmbeddingTable: Embedding;

  constructor(readonly vocabSize: number, rng: Rng) {
    super();
    checkSizes("BigramLanguageModel", { vocabSize });
    this.tokenEmbeddingTable = this.module("token_embedding_table", new Embedding(vocabSize, vocabSize));
    this.initWeights(rng); // N(0, 1), PyTorch's nn.Embedding
  }

  /** idx (B, T) -> logits (B, T, vocabSize): row idx[b, t] of the table */
  forward(idx: tf.Tensor2D): tf.Tensor3D {
    return this.tokenEmbeddingTable.forward(idx);
  }
}
