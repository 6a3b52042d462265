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

  /** Draws an index from a discrete distribution (probabilities summing to 1), like torch.multinomial(probs, 1). */
  sample(probs: ArrayLike<number>): number {
    let u = this.next();
    for (let i = 0; i < probs.length; i++) {
      u -= probs[i];
      if (u < 0) return i;
    }
    return probs.length - 1; // rounding left a sliver of mass
  }
}
