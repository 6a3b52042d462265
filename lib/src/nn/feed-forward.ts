import * as tf from "@tensorflow/tfjs";
import { Dropout, Linear } from "./layers";
import { checkSizes, Module } from "./module";

export interface FeedForwardOptions {
  /** Width of the hidden layer as a multiple of nEmbd: 1 when the lecture first adds it, 4 from the residual step. */
  hiddenMultiple?: number;
  /** A second Linear back to nEmbd (from the residual step on). */
  projection?: boolean;
  dropout?: number;
}

/**
 * Per-token computation after the tokens have communicated: Linear, ReLU (, Linear, Dropout).
 * Parameter names follow the lecture's nn.Sequential: net.0 and net.2.
 */
export class FeedForward extends Module {
  readonly fc: Linear;
  readonly proj?: Linear;
  readonly dropout: Dropout;

  constructor(readonly nEmbd: number, { hiddenMultiple = 4, projection = true, dropout = 0 }: FeedForwardOptions = {}) {
    super();
    checkSizes("FeedForward", { nEmbd, hiddenMultiple });
    const hidden = hiddenMultiple * nEmbd;
    this.fc = this.module("net.0", new Linear(nEmbd, hidden));
    if (projection) this.proj = this.module("net.2", new Linear(hidden, nEmbd));
    this.dropout = this.module("net.3", new Dropout(dropout));
  }

  /** x (B, T, C) -> (B, T, C) */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = tf.relu(this.fc.forward(x)); // (B, T, hidden)
      return this.proj ? this.dropout.forward(this.proj.forward(h)) : h;
    });
  }
}
