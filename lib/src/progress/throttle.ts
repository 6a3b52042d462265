/** Lets something happen at most once per interval: progress displays redraw a few times a second, not every step. */
export class Throttle {
  private last = -Infinity;

  constructor(readonly intervalMs: number, private readonly now: () => number = () => performance.now()) {}

  /** True on the first call and then at most once every `intervalMs`; each true starts a new interval. */
  ready(): boolean {
    const t = this.now();
    if (t - this.last < this.intervalMs) return false;
    this.last = t;
    return true;
  }
}
