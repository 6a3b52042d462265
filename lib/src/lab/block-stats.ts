/**
 * Inside a stack of blocks: how large each block's output is, and how much gradient reaches each block's weights.
 * The measure behind the lessons' claims about residual paths and LayerNorm: without them, activations drift in
 * scale from block to block, and the gradient that reaches the first blocks fades or explodes.
 */
import * as tf from "@tensorflow/tfjs";
import type { Module } from "../nn/module";

export interface BlockStat {
  block: number;
  /** The standard deviation of the block's output over every element of the batch. */
  activationStd: number;
  /** The norm of the gradient of the loss with respect to the block's parameters. */
  gradientNorm: number;
}

/** A block of the stack: its parameters, and x (B, T, C) -> (B, T, C). */
export interface StackBlock extends Module {
  forward(x: tf.Tensor3D): tf.Tensor3D;
}

/**
 * Runs x through `blocks` in turn, then `loss` of the last output, and returns each block's output scale and the
 * norm of its gradient (one backward pass). Nothing is left allocated.
 */
export async function blockStats(blocks: StackBlock[], x: tf.Tensor3D, loss: (out: tf.Tensor3D) => tf.Scalar): Promise<BlockStat[]> {
  const params = blocks.flatMap((b) => b.parameters());
  const stds: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    let h = x;
    for (const b of blocks) {
      h = b.forward(h);
      stds.push(tf.keep(tf.moments(h).variance.sqrt() as tf.Scalar));
    }
    return loss(h);
  }, params);
  try {
    const both = tf.tidy(() => tf.stack([tf.stack(stds), tf.stack(blocks.map((b) => tf.addN(b.parameters().map((p) => grads[p.name].square().sum())).sqrt()))]));
    const values = await both.data(); // one read: (2, blocks)
    both.dispose();
    return blocks.map((_, i) => ({ block: i, activationStd: values[i], gradientNorm: values[blocks.length + i] }));
  } finally {
    tf.dispose([value, grads, ...stds]);
  }
}
