// Finds a Python that has the given modules: Jupyter may be installed for a Python other than the first one on PATH
// (pyenv shims, for one). Set PYTHON to choose one explicitly.
import { spawnSync } from "node:child_process";

export function findPython(modules) {
  const candidates = [process.env.PYTHON, "python3", "/usr/bin/python3", "python"].filter(Boolean);
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return undefined;
}
