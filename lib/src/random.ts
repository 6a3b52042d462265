/**
 * A seeded random source (mulberry32), so a lesson gives the same numbers on every run.
 * Everything random in the library — batch offsets, weight initialisation seeds, sampling — draws from one of these.
 */
export class Rng {
  private state: number;

  constructor(seed = 1337) {
    if (!Number.isInteger(seed)) throw new Error(`Rng seed must be an integer, got ${seed}.`);
    this.state = seed >>> 0;
  }

  /** The generator's whole state (one 32-bit integer): save it, and setState() resumes the same sequence. */
  getState(): number {
    return this.state;
  }

  /** Restores a state from getState(): the numbers that follow are those that followed then. */
  setState(state: number): this {
    if (!(Number.isInteger(state) && state >= 0 && state < 2 ** 32)) throw new Error(`Rng.setState takes a state from getState() (an integer in [0, 2^32)), got ${state}.`);
    this.state = state;
    return this;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A fresh integer seed, for tfjs ops that take one (tf.randomNormal). */
  seed(): number {
    return this.int(2 ** 31);
  }

  /**
   * Draws an index from a discrete distribution (probabilities summing to 1), like torch.multinomial(probs, 1).
   * A NaN or negative probability, or none above 0, is an error (it would otherwise pick the last index every time).
   */
  sample(probs: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i];
      if (!(p >= 0 && Number.isFinite(p))) {
        throw new Error(`Rng.sample: probability ${i} is ${p}; every probability must be a non-negative finite number. NaN here usually means the model's weights are NaN (training diverged).`);
      }
      total += p;
    }
    if (!(total > 0)) throw new Error(`Rng.sample: the ${probs.length} probabilities sum to 0; at least one must be above 0.`);
    let u = this.next();
    for (let i = 0; i < probs.length; i++) {
      u -= probs[i];
      if (u < 0) return i;
    }
    return probs.length - 1; // rounding left a sliver of mass
  }
}
