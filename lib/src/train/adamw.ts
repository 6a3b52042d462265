/**
 * AdamW, step for step as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments).
 * tfjs ships Adam but not AdamW.
 */
import * as tf from "@tensorflow/tfjs";
import { nativeKernels } from "../engine/native-kernels";
import { ADAMW_UPDATE } from "../engine/wasm-kernels";

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay; PyTorch's default is 0.01. */
  weightDecay?: number;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken so far. */
  t = 0;
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();

  constructor(readonly params: tf.Variable[], { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0.01 }: AdamWOptions = {}) {
    this.lr = lr;
    [this.beta1, this.beta2] = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
    const zeros = (p: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    for (const p of params) {
      this.m.set(p, zeros(p));
      this.v.set(p, zeros(p));
    }
  }

  /** Applies one update. `grads` maps each parameter's tfjs variable name to its gradient (as tf.variableGrads returns). */
  step(grads: tf.NamedTensorMap): void {
    this.t += 1;
    const { lr, beta1, beta2, eps, weightDecay, t } = this;
    const stepSize = lr / (1 - beta1 ** t);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** t);
    // The same update as one fused kernel per parameter, where the native kernels run (see engine/native-kernels).
    const fused = nativeKernels() && tf.getKernel(ADAMW_UPDATE, tf.getBackend()) !== undefined;
    const scalars = Float32Array.of(beta1, 1 - beta1, beta2, 1 - beta2, bias2Sqrt, eps, 1 - lr * weightDecay, stepSize);
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads[p.name];
        if (!g) continue; // a parameter the loss does not depend on
        const m = this.m.get(p)!;
        const v = this.v.get(p)!;
        if (fused) {
          const [p2, m2, v2] = tf.engine().runKernel(ADAMW_UPDATE, { p, g, m, v }, { scalars }) as tf.Tensor[];
          m.assign(m2);
          v.assign(v2);
          p.assign(p2);
          continue;
        }
        m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
        v.assign(v.mul(beta2).add(g.square().mul(1 - beta2)));
        const denom = v.sqrt().div(bias2Sqrt).add(eps);
        p.assign(p.mul(1 - lr * weightDecay).sub(m.div(denom).mul(stepSize)));
      }
    });
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
