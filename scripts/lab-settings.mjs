// The settings JupyterLab applies over its defaults, for the JupyterLab of the project's .venv/ (and Binder's): its
// first start asks no question. JupyterLab reads them from {sys.prefix}/share/jupyter/lab/settings/overrides.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** "Would you like to get notified about official Jupyter news?": no (fetchNews "false"; "none" is "ask"). */
export const LAB_OVERRIDES = { "@jupyterlab/apputils-extension:notification": { fetchNews: "false" } };

/** Writes LAB_OVERRIDES into the overrides.json of `python`'s JupyterLab, keeping what else it holds; returns its path. */
export function writeLabSettings(python) {
  const prefix = spawnSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" });
  if (prefix.status !== 0) throw new Error(`${python} did not run: ${prefix.stderr ?? prefix.error}`);
  const dir = join(prefix.stdout.trim(), "share", "jupyter", "lab", "settings");
  const file = join(dir, "overrides.json");
  const current = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const merged = { ...current };
  for (const [plugin, values] of Object.entries(LAB_OVERRIDES)) merged[plugin] = { ...current[plugin], ...values };
  if (JSON.stringify(merged) !== JSON.stringify(current)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(merged, null, 2) + "\n");
  }
  return file;
}
