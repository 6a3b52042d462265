"""Executes every lesson in notebooks/ with the project's tslab kernel, one cell at a time.

On a failing cell it prints the cell's source and everything the cell wrote (tslab puts errors on stderr, where
nbconvert would hide them), and exits non-zero. Executed copies are written to out/executed/ for a look.
--memory also prints each lesson's peak memory: the kernel process's peak resident set (VmHWM, Linux only), read just
before the kernel shuts down, plus that of any process the kernel started.
--solutions runs each lesson with its exercises solved: every code cell whose metadata has "exercise": ID gets the
source of the cell with the same ID in notebooks/solutions/<lesson>.ipynb, and GPT_EXERCISES=strict makes every
check that is not right fail its cell. A lesson exercise without a solution is a failure. A lesson with no exercise
is left out: solved, it would be the lesson as it is, which its plain run checks (npm test's browser suite).
Usage: python3 test/run_notebooks.py [--out DIR] [--memory] [--solutions] [notebooks/NAME.ipynb ...]
  (--out: write the executed copies to DIR)
"""
import glob
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELL_TIMEOUT = int(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "1800"))


def cell_output_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(f"[{out.get('name')}] {out.get('text', '')}")
        elif out.get("output_type") == "error":
            parts.append(f"[error] {out.get('ename')}: {out.get('evalue')}\n" + "\n".join(out.get("traceback", [])))
        else:
            text = out.get("data", {}).get("text/plain")
            if text:
                parts.append(text)
    return "\n".join(parts)


def peak_rss_mb(pid):
    """Peak resident set of a process and of its descendants, in MiB (VmHWM from /proc), as (kernel, descendants)."""
    def status(p, key):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return line.split()[1]
        except OSError:
            return None
    family, descendants = {pid}, 0
    for p in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):  # parents have lower pids, usually
        if p != pid and status(p, "PPid") and int(status(p, "PPid")) in family:
            family.add(p)
            descendants += int(status(p, "VmHWM") or 0)
    return int(status(pid, "VmHWM")) / 1024, descendants / 1024


def exercise_ids(nb):
    return [c.metadata.get("exercise") for c in nb.cells if c.cell_type == "code" and c.metadata.get("exercise")]


def fill_solutions(nb, path):
    """Puts the reference solutions into the lesson's exercise cells; returns an error message, or None."""
    ids = exercise_ids(nb)
    if not ids:
        return None
    solutions_path = os.path.join(os.path.dirname(path), "solutions", os.path.basename(path))
    if not os.path.exists(solutions_path):
        return f"exercises {', '.join(ids)} have no solutions notebook ({os.path.relpath(solutions_path, ROOT)})"
    solutions = {c.metadata.get("exercise"): c.source for c in nbformat.read(solutions_path, as_version=4).cells
                 if c.cell_type == "code" and c.metadata.get("exercise")}
    missing = [i for i in ids if i not in solutions]
    if missing:
        return f"no solution for exercise(s) {', '.join(missing)} in {os.path.relpath(solutions_path, ROOT)}"
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("exercise"):
            cell.source = solutions[cell.metadata["exercise"]]
    return None


def run(path, out_dir, memory=False, solutions=False):
    nb = nbformat.read(path, as_version=4)
    name = os.path.relpath(path, ROOT)
    if solutions and not exercise_ids(nb):
        print(f"--   {name}: no exercises (its plain run checks it)", flush=True)
        return True
    if solutions:
        problem = fill_solutions(nb, path)
        if problem:
            print(f"FAIL {name}: {problem}", flush=True)
            return False
    client = NotebookClient(nb, kernel_name="tslab", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": os.path.dirname(path)}})
    started = time.time()
    failure = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                # tslab sends no execute_input, so the prompt number is given here, as nbclient's own execute() does
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellExecutionError:
                failure = (index, cell)
                break
        if memory:
            kernel_mb, children_mb = peak_rss_mb(client.km.provisioner.process.pid)
    os.makedirs(out_dir, exist_ok=True)
    nbformat.write(nb, os.path.join(out_dir, os.path.basename(path)))
    if failure:
        index, cell = failure
        print(f"FAIL {name}: cell {index} failed after {time.time() - started:.0f}s", flush=True)
        print("---- cell source ----\n" + cell.source, flush=True)
        print("---- cell output ----\n" + cell_output_text(cell), flush=True)
        return False
    solved = f", {len(exercise_ids(nb))} exercises solved and checked" if solutions else ""
    print(f"ok   {name} ({time.time() - started:.0f}s{solved})", flush=True)
    if memory:
        print(f"peak memory {name}: kernel {kernel_mb:.0f} MiB, processes it started {children_mb:.0f} MiB", flush=True)
    return True


def main():
    args = sys.argv[1:]
    out_dir = os.path.join(ROOT, "out", "executed")
    if "--out" in args:
        at = args.index("--out")
        out_dir = os.path.abspath(args[at + 1])
        del args[at:at + 2]
    memory = "--memory" in args
    solutions = "--solutions" in args
    args = [a for a in args if a not in ("--memory", "--solutions")]
    if solutions and "--out" not in sys.argv:
        out_dir = os.path.join(ROOT, "out", "solved")
    if solutions:
        os.environ["GPT_EXERCISES"] = "strict"  # the kernel inherits it: a check that is not right fails its cell
    paths = args or sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    if not paths:
        print("no notebooks found in notebooks/")
        return 1
    results = [run(os.path.abspath(p), out_dir, memory, solutions) for p in paths]
    passed = sum(results)
    print(f"notebooks: {passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
