// The environment the lessons run in outside `npm start`: the project's kernelspec on JUPYTER_PATH and fast mode unless
// told otherwise. The dataset comes from TINYSHAKESPEARE_PATH where it is set (offline machines, CI), else the lessons
// download it.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function lessonEnv({ fast = true, extra = {} } = {}) {
  const env = { ...process.env, ...extra };
  env.JUPYTER_PATH = [join(root, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(delimiter);
  if (fast) env.GPT_FAST = process.env.GPT_FAST ?? "1";
  else delete env.GPT_FAST;
  return env;
}

/** The lessons, in order: notebooks/NN-*.ipynb, optionally only those whose name contains one of `filters`. */
export function lessonNames(files, filters = []) {
  const lessons = files.filter((f) => f.endsWith(".ipynb") && !f.endsWith(".nbconvert.ipynb")).sort();
  return filters.length ? lessons.filter((f) => filters.some((x) => f.includes(x))) : lessons;
}

/** Copies the files a fresh clone would have (git's tracked, and untracked-not-ignored, files) to `dest`; returns their count. */
export function copyCheckout(dest) {
  const listed = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${root}: ${listed.stderr}`);
  const files = listed.stdout.split("\0").filter((file) => file && existsSync(join(root, file)));
  for (const file of files) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(root, file), join(dest, file));
  }
  return files.length;
}
