import * as tf from "@tensorflow/tfjs";
import type { Embedding } from "../nn/layers";
import { LanguageModel } from "./language-model";

/** Token and position embeddings summed: idx (B, T) -> x (B, T, C). Shared by every model after the bigram. */
export abstract class EmbeddedLanguageModel extends LanguageModel {
  abstract readonly tokenEmbeddingTable: Embedding;
  abstract readonly positionEmbeddingTable: Embedding;

  protected embed(idx: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const T = idx.shape[1];
      if (T > this.blockSize!) throw new Error(`The context has ${T} tokens but the model sees at most blockSize = ${this.blockSize}: crop it (generate() does).`);
      const tokEmb = this.tokenEmbeddingTable.forward(idx); // (B, T, C)
      const posEmb = tf.gather(this.positionEmbeddingTable.weight, tf.range(0, T, 1, "int32")); // (T, C)
      return tokEmb.add(posEmb) as tf.Tensor3D; // (B, T, C)
    });
  }
}
