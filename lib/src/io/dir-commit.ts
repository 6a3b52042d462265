/**
 * Replacing a group of files in a directory together — all of them or none — while every other file in the directory
 * stays as it is (a user's notes, plots or samples kept beside a model are never moved or removed).
 *
 * A writer:
 *   1. writes each new file beside its target as `.NAME.new`, and flushes it to disk;
 *   2. creates the journal `.commit` (written aside, then renamed: it appears whole) naming the group: from here on the
 *      group is complete, and whoever finds the journal may finish the commit;
 *   3. renames each `.NAME.new` over NAME, removes the files the group drops, then removes the journal.
 * A writer killed before step 2 leaves `.new` files that are not part of the directory: readers ignore them and the
 * next writer removes them. Killed after step 2, the next writer or reader finishes the commit ("rolls forward").
 * A reader that meets a live writer's journal waits for it (the renames take milliseconds).
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import * as path from "node:path";
import { pidAlive } from "./run-lock";

export const JOURNAL = ".commit";
const NEW_SUFFIX = ".new";
const newName = (name: string) => `.${name}${NEW_SUFFIX}`;

/** Names the protocol uses for itself: not part of the directory's contents. */
export function isCommitFile(entry: string): boolean {
  return entry === JOURNAL || entry === `${JOURNAL}.tmp` || (entry.startsWith(".") && entry.endsWith(NEW_SUFFIX));
}

interface Journal {
  pid: number;
  write: string[];
  remove: string[];
}

function writeDurably(file: string, bytes: Buffer | string): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, typeof bytes === "string" ? Buffer.from(bytes) : bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readJournal(dir: string): Journal | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, JOURNAL), "utf8");
  } catch {
    return undefined; // none (or removed while we looked): no commit in progress
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (Number.isInteger(j.pid) && Array.isArray(j.write) && Array.isArray(j.remove)) return j;
  } catch {
    // written aside and renamed into place, a journal is whole: an unreadable one is not ours
  }
  throw new Error(`${path.join(dir, JOURNAL)} is not a journal this library wrote. Remove it if nothing else uses the folder, then try again.`);
}

/** Step 3, for the writer or for whoever finds a dead writer's journal. */
function finish(dir: string, journal: Journal): void {
  for (const name of journal.write) {
    const pending = path.join(dir, newName(name));
    if (existsSync(pending)) renameSync(pending, path.join(dir, name));
  }
  for (const name of journal.remove) rmSync(path.join(dir, name), { force: true });
  rmSync(path.join(dir, JOURNAL), { force: true });
}

/** Blocks the thread for `ms` (loads are synchronous; a save's renames take milliseconds). */
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const WAIT_MS = 20;
const WAIT_LIMIT_MS = 10_000;

/**
 * Makes `dir` consistent for reading: waits while a live writer commits; finishes a dead writer's commit where the
 * folder can be written. Returns the files to read in place of their names where it could not finish (a read-only
 * share): the committed group's `.NAME.new` files. Never throws for a folder it cannot write.
 */
export function settle(dir: string): Map<string, string> {
  const started = Date.now();
  for (;;) {
    const journal = readJournal(dir);
    if (!journal) return new Map();
    if (journal.pid !== process.pid && pidAlive(journal.pid)) {
      if (Date.now() - started > WAIT_LIMIT_MS) {
        throw new Error(`${dir} is being saved by process ${journal.pid}, which has not finished in ${WAIT_LIMIT_MS / 1000} s. Try again when it has.`);
      }
      sleep(WAIT_MS);
      continue;
    }
    try {
      finish(dir, journal);
      return new Map();
    } catch {
      // best effort: read the committed files where they lie
      const redirect = new Map<string, string>();
      for (const name of journal.write) {
        const pending = path.join(dir, newName(name));
        if (existsSync(pending)) redirect.set(name, pending);
      }
      return redirect;
    }
  }
}

/** What identifies the files' current versions: a rename puts a new inode in place. */
function stamp(dir: string, names: string[]): string {
  return names.map((name) => {
    try {
      const s = statSync(path.join(dir, name));
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return "-";
    }
  }).join(",");
}

/**
 * Reads the files `names` of `dir` with `read` once the directory is settled, and again while a commit moves them
 * under it (`consistent` says whether what it read belongs together, e.g. checksums that match). Returns what was read
 * last: when nothing moved during a read, an inconsistency is what lies on disk.
 */
export function readSettled<T>(dir: string, names: string[], read: (fileOf: (name: string) => string) => T, consistent: (value: T) => boolean): T {
  const started = Date.now();
  for (;;) {
    const redirect = settle(dir);
    const before = stamp(dir, names);
    const value = read((name) => redirect.get(name) ?? path.join(dir, name));
    if (consistent(value)) return value;
    const moved = stamp(dir, names) !== before || existsSync(path.join(dir, JOURNAL));
    if (!moved || Date.now() - started > WAIT_LIMIT_MS) return value;
    sleep(WAIT_MS);
  }
}

/**
 * Writes `files` into `dir` (which exists) as one group, removing `remove` (names) in the same commit. Finishes or
 * clears what an earlier writer left first. On an error nothing of the group is in place and the directory is as it was.
 */
export function commitFiles(dir: string, files: Record<string, Buffer>, remove: string[] = []): void {
  settle(dir);
  for (const entry of readdirSync(dir)) if (entry.startsWith(".") && entry.endsWith(NEW_SUFFIX)) rmSync(path.join(dir, entry), { force: true });
  const names = Object.keys(files);
  try {
    for (const name of names) writeDurably(path.join(dir, newName(name)), files[name]);
    const journal: Journal = { pid: process.pid, write: names, remove: remove.filter((n) => !names.includes(n)) };
    writeDurably(path.join(dir, `${JOURNAL}.tmp`), JSON.stringify(journal));
    renameSync(path.join(dir, `${JOURNAL}.tmp`), path.join(dir, JOURNAL));
  } catch (err) {
    for (const name of names) rmSync(path.join(dir, newName(name)), { force: true });
    rmSync(path.join(dir, `${JOURNAL}.tmp`), { force: true });
    throw err;
  }
  finish(dir, readJournal(dir)!);
}
