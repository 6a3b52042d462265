/**
 * A lock on a model directory for the life of a training run, so that two runs never save into one folder in turn
 * (each would overwrite the other's model and report its own). The lock is the file `.lock` in the directory, created
 * exclusively, naming its holder; it is stale, and taken over, once its process has died.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const LOCK_FILE = ".lock";

export interface LockHolder {
  pid: number;
  host: string;
  /** When the run started (ISO 8601). */
  started: string;
  /** What holds it, in a few words (the command line). */
  what: string;
}

/** Whether process `pid` is running on this machine (one we may not signal still is). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as LockHolder;
    return Number.isInteger(h.pid) ? h : undefined;
  } catch {
    return undefined; // gone, or being written: the caller looks again
  }
}

/** A holder whose process is gone; one on another machine (a shared folder) cannot be checked, so it counts as live. */
const stale = (h: LockHolder) => h.host === os.hostname() && !pidAlive(h.pid);

/** The live run holding `dir`'s lock, other than this process; undefined when none does. */
export function lockHolder(dir: string): LockHolder | undefined {
  const h = readHolder(path.join(dir, LOCK_FILE));
  return h && h.pid !== process.pid && !stale(h) ? h : undefined;
}

/** "process 1234 (npm run train …), started 2026-12-07T10:00:00Z" */
export function describeHolder(h: LockHolder): string {
  const where = h.host === os.hostname() ? "" : ` on ${h.host}`;
  return `process ${h.pid}${where} (${h.what}), started ${h.started}`;
}

export interface RunLock {
  readonly dir: string;
  /** Removes the lock (and the directory, when the lock made it and nothing else was put there). */
  release(): void;
}

/**
 * Takes `dir`'s lock for this process, creating the directory if needed; throws, naming the holder, when a live run
 * holds it. `what` describes this run to whoever is refused.
 */
export function lockDirectory(dir: string, what: string): RunLock {
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), what };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
      const holder = readHolder(file);
      if (holder && !stale(holder)) {
        throw new Error(`${dir} is in use by another training run: ${describeHolder(holder)}. Wait for it to finish, or train into another --out.`);
      }
      if (holder || attempt > 0) rmSync(file, { force: true }); // stale (or unreadable twice): take it over
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    break;
  }
  return {
    dir,
    release() {
      const h = readHolder(file);
      if (h?.pid === process.pid) rmSync(file, { force: true });
      try {
        if (created && readdirSync(dir).length === 0) rmdirSync(dir);
      } catch {
        // someone is using it: leave it
      }
    },
  };
}
