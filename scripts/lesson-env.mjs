// The environment the lessons run in outside `npm start`: the project's kernelspec on JUPYTER_PATH, fast mode unless
// told otherwise, and the dataset from ../shared when it is there (as `npm run test:notebooks` does).
import { existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function lessonEnv({ fast = true, extra = {} } = {}) {
  const env = { ...process.env, ...extra };
  env.JUPYTER_PATH = [join(root, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(delimiter);
  if (fast) env.GPT_FAST = process.env.GPT_FAST ?? "1";
  else delete env.GPT_FAST;
  const shared = resolve(root, "..", "shared", "data", "tinyshakespeare", "input.txt");
  if (!env.TINYSHAKESPEARE_PATH && existsSync(shared)) env.TINYSHAKESPEARE_PATH = shared;
  return env;
}

/** The lessons, in order: notebooks/NN-*.ipynb, optionally only those whose name contains one of `filters`. */
export function lessonNames(files, filters = []) {
  const lessons = files.filter((f) => f.endsWith(".ipynb") && !f.endsWith(".nbconvert.ipynb")).sort();
  return filters.length ? lessons.filter((f) => filters.some((x) => f.includes(x))) : lessons;
}
