/**
 * A progress bar for the command line (npm run ladder, npm run bench, train() from a script): one line on stderr,
 * redrawn in place with a carriage return, a few times a second. Quiet when stderr is not a terminal (redirected to a
 * file, piped) or when CI is set, so logs get only what the program prints itself.
 */
import { fractionDone, progressLine, type TrainProgress } from "./status";
import { Throttle } from "./throttle";

/** The part of a stream the bar needs (process.stderr, or a stand-in in tests). */
export interface TerminalStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface TerminalBarOptions {
  /** Where to draw; default process.stderr (stdout stays for the program's results). */
  stream?: TerminalStream;
  /** Redraw at most this often; default 250 ms. */
  intervalMs?: number;
  /** The environment to read CI from; default process.env. */
  env?: Record<string, string | undefined>;
  /** At the end, leave the last line on screen (default) or erase it (for a program that prints its own summary). */
  keep?: boolean;
}

/** Node's stderr and environment; nothing to draw on where there is no `process` (a browser). */
const nodeStderr = (): TerminalStream => (typeof process !== "undefined" ? process.stderr : { write: () => undefined });
const nodeEnv = (): Record<string, string | undefined> => (typeof process !== "undefined" ? process.env : {});

/** Whether CI is set to something other than "", "0" or "false". */
export function isCI(env: Record<string, string | undefined> = nodeEnv()): boolean {
  const v = (env.CI ?? "").toLowerCase();
  return v !== "" && v !== "0" && v !== "false";
}

/** "█████░░░░░" for fraction 0.5 and width 10. */
export function barText(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}

export class TerminalBar {
  /** False when the stream is not a terminal or CI is set: then the bar writes nothing at all. */
  readonly enabled: boolean;
  private readonly stream: TerminalStream;
  private readonly throttle: Throttle;
  private readonly keep: boolean;
  private drawn = false;

  constructor(readonly label: string, { stream = nodeStderr(), intervalMs = 250, env = nodeEnv(), keep = true }: TerminalBarOptions = {}) {
    this.stream = stream;
    this.enabled = Boolean(stream.isTTY) && !isCI(env);
    this.throttle = new Throttle(intervalMs);
    this.keep = keep;
  }

  /** Redraws "label ████░░░░ 40% detail" unless it was redrawn less than an interval ago. */
  update(done: number, total: number, detail = ""): void {
    if (!this.enabled || !this.throttle.ready()) return;
    const fraction = total > 0 ? done / total : 0;
    this.draw(`${this.label} ${barText(fraction, 20)} ${String(Math.floor(fraction * 100)).padStart(3)}% ${detail}`);
  }

  /** Ends the bar: `detail` as its last line (kept, with a newline), or the line erased when keep is false. */
  finish(detail = ""): void {
    if (!this.enabled) return;
    if (this.keep) {
      this.draw(`${this.label}: ${detail}`);
      this.stream.write("\n");
    } else if (this.drawn) {
      this.stream.write("\r\x1b[2K");
    }
    this.drawn = false;
  }

  private draw(line: string): void {
    const width = Math.max(20, (this.stream.columns || 80) - 1); // never wrap: a wrapped line cannot be redrawn
    const fitted = line.length > width ? line.slice(0, width - 1) + "…" : line;
    this.stream.write(`\r${fitted}\x1b[K`);
    this.drawn = true;
  }
}

/** train()'s progress as a terminal bar: `train(model, optimizer, split, { ...settings, progress: terminalProgress("bigram") })`. */
export function terminalProgress(label = "training", options: TerminalBarOptions = {}): TrainProgress {
  const bar = new TerminalBar(label, options);
  return {
    update: (s) => bar.update(fractionDone(s), 1, progressLine(s)),
    end: (s) => bar.finish(progressLine(s)),
  };
}
