/**
 * Module: the little that torch.nn.Module gives the lecture's code — named parameters, submodules, train/eval mode,
 * one initialisation pass, state dicts. Parameter names follow PyTorch's state_dict (`token_embedding_table.weight`),
 * so the two can be compared by name.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";

export interface InitOptions {
  /**
   * gpt.py's `_init_weights`: every Linear and Embedding weight from N(0, std²) and every Linear bias zero
   * (gpt.py uses 0.02). Without it each layer takes PyTorch's default initialisation.
   */
  std?: number;
}

export abstract class Module {
  /** Training mode: dropout is active. eval() turns it off. */
  training = true;
  /** Whether this module's values were drawn (initWeights) or loaded (loadStateDict). */
  protected initialised = false;
  private readonly ownParameters = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable parameter under `name`, taking ownership of `initial`. */
  protected parameter<R extends tf.Rank>(name: string, initial: tf.Tensor<R>): tf.Variable<R> {
    const v = tf.variable(initial, true);
    initial.dispose();
    this.ownParameters.set(name, v as unknown as tf.Variable);
    return v;
  }

  /** Registers a submodule under `name` (its parameters become `name.…`). */
  protected module<M extends Module>(name: string, child: M): M {
    this.children.set(name, child);
    return child;
  }

  /** Every parameter with its PyTorch-style dotted name, in registration order. */
  namedParameters(prefix = ""): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [name, v] of this.ownParameters) out.push([prefix + name, v]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** This module and every submodule with its dotted name ("" for this one, then `sa_head`, `sa_head.key`, …), depth first. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** The number of trainable numbers in the model. */
  numParameters(): number {
    return this.parameters().reduce((n, v) => n + v.size, 0);
  }

  /**
   * Draws every parameter of this module and its submodules, in module order, from `rng` — one pass, as gpt.py's
   * `self.apply(self._init_weights)` — and gives every Dropout its own random stream from the same `rng`.
   * The same seed gives the same model.
   */
  initWeights(rng: Rng, options: InitOptions = {}): this {
    const { std } = options;
    if (std !== undefined && !(Number.isFinite(std) && std > 0)) throw new Error(`initWeights: std must be a finite number > 0, got ${std}.`);
    for (const [, m] of this.namedModules()) {
      m.resetParameters(rng, options);
      m.initialised = true;
    }
    return this;
  }

  /** Draws this module's own parameters (not its children's); layers with random weights override it. */
  protected resetParameters(_rng: Rng, _options: InitOptions): void {}

  /** Throws a clear error when a layer's values were never drawn or loaded. */
  protected assertInitialised(what: string): void {
    if (!this.initialised) {
      throw new Error(`${what} has no weights yet: call initWeights(rng) on it or on the model that holds it, or loadStateDict(...).`);
    }
  }

  /** Sets training mode here and in every submodule. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.children.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Runs `fn` in evaluation mode (no dropout) and puts the module back in the mode it was in, also when `fn` throws
   * or its promise rejects — `with torch.no_grad(): model.eval()` and back.
   */
  inEvalMode<T>(fn: () => T): T {
    const wasTraining = this.training;
    this.eval();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.train(wasTraining);
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => this.train(wasTraining)) as T;
    this.train(wasTraining);
    return result;
  }

  /** Every parameter by its PyTorch state_dict name: the live variables, not copies (do not dispose them). */
  stateDict(): Record<string, tf.Variable> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies weights into the parameters, by PyTorch state_dict name — load_state_dict(strict=True), parameters only.
   * Every parameter must be given with its shape, and every name given must be a parameter; otherwise nothing is
   * changed and the error lists each problem. The caller keeps (and disposes) the tensors given.
   */
  loadStateDict(state: Record<string, tf.Tensor>): this {
    const params = new Map(this.namedParameters());
    const problems: string[] = [];
    for (const [name, v] of params) {
      const t = state[name];
      if (!t) problems.push(`missing ${name} (${v.shape})`);
      else if (t.shape.join(",") !== v.shape.join(",")) problems.push(`${name}: shape (${t.shape}), the model's is (${v.shape})`);
    }
    for (const name of Object.keys(state)) if (!params.has(name)) problems.push(`unexpected ${name}: the model has no such parameter`);
    if (problems.length > 0) throw new Error(`loadStateDict: the weights do not fit the model:\n  ${problems.join("\n  ")}`);
    for (const [name, v] of params) v.assign(state[name].dtype === v.dtype ? state[name] : tf.tidy(() => state[name].cast(v.dtype)));
    for (const [, m] of this.namedModules()) m.loaded();
    return this;
  }

  /** Called on every module after loadStateDict: parameters now hold real values. */
  protected loaded(): void {
    this.initialised = true;
  }

  /** Frees every parameter's memory. The module is unusable afterwards. */
  dispose(): void {
    for (const v of this.parameters()) v.dispose();
  }
}

/** Checks that each size is a positive integer before anything is allocated; `where` names the layer. */
export function checkSizes(where: string, sizes: Record<string, number>): void {
  for (const [name, n] of Object.entries(sizes)) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${where}: ${name} must be a positive integer, got ${n}.`);
  }
}
