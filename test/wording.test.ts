// The repository's prose, docs and comments say what is and why, never the history of how it came to be (git keeps
// that), and name no path of a development machine: the dataset is found through TINYSHAKESPEARE_PATH. CI's own files
// (.ci/, .github/) are where the path of the dataset beside the clone belongs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");

/** Log wording: a measurement's round or run, an issue's number, a session, a later look. */
const LOG_WORDING = /\b(this|previous|last|next) round\b|\b(this|a later|an earlier|the previous) session\b|\blater look\b|\bissue \d+\b|\brun \d\b/i;
/** A development machine's paths: the shared folder beside the checkout, a home or work folder. */
const DEV_PATH = /\.\.\/shared\b|\/work\/(main|shared|wt)\b|\/root\//;

/** The tracked text files, outside CI's own files, the lock file and binary fixtures. */
function trackedText(): string[] {
  const listed = spawnSync("git", ["ls-files"], { cwd: root, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  return listed.stdout.split("\n").filter((f) => f && !/^(\.ci|\.github)\//.test(f) && !/package-lock\.json$|\.(node|bin|safetensors|png)$/.test(f) && f !== "test/wording.test.ts");
}

test("no log wording and no development-machine paths in the repository's prose, docs and comments", () => {
  const found: string[] = [];
  for (const file of trackedText()) {
    readFileSync(path.join(root, file), "utf8").split("\n").forEach((line, i) => {
      const m = LOG_WORDING.exec(line) ?? DEV_PATH.exec(line);
      if (m) found.push(`${file}:${i + 1}: "${m[0]}" in ${line.trim().slice(0, 100)}`);
    });
  }
  assert.deepEqual(found, [], "say what is and why; name TINYSHAKESPEARE_PATH, not a path");
});

test("the patterns catch what they are for, and not ordinary prose", () => {
  for (const bad of ["In this round the kernels got faster", "the previous session's numbers", "as issue 15 measured", "run 3 of the bench"]) assert.match(bad, LOG_WORDING);
  for (const bad of ["TINYSHAKESPEARE_PATH=../shared/data/input.txt", "cd /work/main && npm test"]) assert.match(bad, DEV_PATH);
  for (const fine of ["run 300 steps", "a training run", "the lecture's round numbers", "shared memory"]) {
    assert.doesNotMatch(fine, LOG_WORDING);
    assert.doesNotMatch(fine, DEV_PATH);
  }
});
