/**
 * Module: the little that torch.nn.Module gives the lecture's code — named parameters, submodules, train/eval mode.
 * Parameter names follow PyTorch's state_dict (`token_embedding_table.weight`), so the two can be compared by name.
 */
import * as tf from "@tensorflow/tfjs";

export abstract class Module {
  /** Training mode: dropout is active. eval() turns it off. */
  training = true;
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
    for (const [name, v] of params) v.assign(state[name]);
    return this;
  }

  /** Frees every parameter's memory. The module is unusable afterwards. */
  dispose(): void {
    for (const v of this.parameters()) v.dispose();
  }
}
