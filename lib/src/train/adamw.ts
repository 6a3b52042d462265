/**
 * AdamW, step for step as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments).
 * tfjs ships Adam but not AdamW.
 */
import * as tf from "@tensorflow/tfjs";
import * as fast from "../engine/fast";
import type { AdamWEntry, AdamWHyper } from "./types";

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay; PyTorch's default is 0.01. */
  weightDecay?: number;
  /**
   * Which parameters decay: "all" (default: torch.optim.AdamW over model.parameters(), as gpt.py) or "matrices"
   * (nanoGPT's two parameter groups: weight matrices and embeddings decay; biases and LayerNorm's vectors do not).
   */
  decayOn?: "all" | "matrices";
}

/** Each setting in its allowed range, or an error that gives the range. */
function checkSettings({ lr, beta1, beta2, eps, weightDecay }: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }): void {
  const finite = Number.isFinite;
  if (!(finite(lr) && lr >= 0)) throw new Error(`AdamW: lr must be a finite number >= 0, got ${lr}. The lecture uses 1e-3 (3e-4 for gpt.py's model).`);
  if (![beta1, beta2].every((b) => b >= 0 && b < 1)) {
    throw new Error(`AdamW: betas must each be in [0, 1), got [${beta1}, ${beta2}]. PyTorch's default is [0.9, 0.999].`);
  }
  if (!(finite(eps) && eps > 0)) throw new Error(`AdamW: eps must be a finite number > 0, got ${eps}. PyTorch's default is 1e-8.`);
  if (!(finite(weightDecay) && weightDecay >= 0)) {
    throw new Error(`AdamW: weightDecay must be a finite number >= 0, got ${weightDecay}. PyTorch's default is 0.01.`);
  }
}

/**
 * The update of one parameter, the reference maths (torch.optim.AdamW with amsgrad off):
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p·(1 − lr·λ) − stepSize · m / (√v / √(1 − β2^t) + ε),   stepSize = lr / (1 − β1^t)
 * Returns p, m, v after the step.
 */
function adamwUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, { lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt }: AdamWHyper): tf.Tensor[] {
  const m2 = m.mul(beta1).add(g.mul(1 - beta1));
  const v2 = v.mul(beta2).add(g.square().mul(1 - beta2));
  const denom = v2.sqrt().div(bias2Sqrt).add(eps);
  const p2 = p.mul(1 - lr * weightDecay).sub(m2.div(denom).mul(stepSize));
  return [p2, m2, v2];
}

export class AdamW {
  /** The learning rate; may be changed between steps (a schedule), and is checked at each step. */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decayOn: "all" | "matrices";
  /** Steps taken so far. */
  t = 0;
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();

  constructor(readonly params: tf.Variable[], { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0.01, decayOn = "all" }: AdamWOptions = {}) {
    checkSettings({ lr, beta1: betas[0], beta2: betas[1], eps, weightDecay }); // before anything is allocated
    if (decayOn !== "all" && decayOn !== "matrices") throw new Error(`AdamW: decayOn must be "all" or "matrices", got ${JSON.stringify(decayOn)}.`);
    this.decayOn = decayOn;
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

  /** Whether `p` decays: every parameter, or (decayOn "matrices") those of two or more dimensions. */
  private decays(p: tf.Variable): boolean {
    return this.decayOn === "all" || p.rank >= 2;
  }

  /** Applies one update. `grads` maps each parameter's tfjs variable name to its gradient (as tf.variableGrads returns). */
  step(grads: tf.NamedTensorMap): void {
    checkSettings(this);
    const t = this.t + 1;
    const { lr, beta1, beta2, eps, weightDecay } = this;
    const hyper: AdamWHyper = { lr, beta1, beta2, eps, weightDecay, stepSize: lr / (1 - beta1 ** t), bias2Sqrt: Math.sqrt(1 - beta2 ** t) };
    const groups = new Map<number, AdamWEntry[]>(); // weight decay -> its parameters' entries
    for (const p of this.params) {
      const g = grads[p.name];
      if (!g) continue; // a parameter the loss does not depend on
      const decay = this.decays(p) ? weightDecay : 0;
      if (!groups.has(decay)) groups.set(decay, []);
      groups.get(decay)!.push({ p, g, m: this.m.get(p)!, v: this.v.get(p)! });
    }
    for (const [decay, entries] of groups) {
      const groupHyper = { ...hyper, weightDecay: decay };
      const rest = fast.adamw(entries, groupHyper) ?? entries; // in place, natively, where that runs
      tf.tidy(() => {
        for (const { p, g, m, v } of rest) {
          const [p2, m2, v2] = adamwUpdate(p, g, m, v, groupHyper);
          m.assign(m2);
          v.assign(v2);
          p.assign(p2);
        }
      });
    }
    this.t = t;
  }

  /** The optimizer's state: the step count and each parameter's moments, in `params` order (live variables, not copies). */
  state(): { t: number; m: tf.Variable[]; v: tf.Variable[] } {
    return { t: this.t, m: this.params.map((p) => this.m.get(p)!), v: this.params.map((p) => this.v.get(p)!) };
  }

  /** Restores a state saved from state(): the step count and the moments, in `params` order, each of its parameter's shape. */
  loadState(state: { t: number; m: ArrayLike<number>[]; v: ArrayLike<number>[] }): void {
    const { t, m, v } = state;
    if (!(Number.isInteger(t) && t >= 0)) throw new Error(`AdamW.loadState: t must be the number of steps taken (an integer >= 0), got ${t}.`);
    if (m.length !== this.params.length || v.length !== this.params.length) {
      throw new Error(`AdamW.loadState: the state holds moments of ${m.length} parameters, this optimizer has ${this.params.length}.`);
    }
    this.params.forEach((p, i) => {
      for (const [name, values] of [["m", m[i]], ["v", v[i]]] as const) {
        if (values.length !== p.size) throw new Error(`AdamW.loadState: moment ${name} of parameter ${i} has ${values.length} values, the parameter ${p.size}.`);
      }
    });
    this.params.forEach((p, i) => {
      tf.tidy(() => {
        this.m.get(p)!.assign(tf.tensor(Float32Array.from(m[i]), p.shape));
        this.v.get(p)!.assign(tf.tensor(Float32Array.from(v[i]), p.shape));
      });
    });
    this.t = t;
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
