"""Executes every lesson in notebooks/ with the project's tslab kernel, one cell at a time.

On a failing cell it prints the cell's source and everything the cell wrote (tslab puts errors on stderr, where
nbconvert would hide them), and exits non-zero. Executed copies are written to out/executed/ for a look.
Usage: python3 test/run_notebooks.py [--out DIR] [notebooks/NAME.ipynb ...]   (--out: write the executed copies to DIR)
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


def run(path, out_dir):
    nb = nbformat.read(path, as_version=4)
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
    os.makedirs(out_dir, exist_ok=True)
    nbformat.write(nb, os.path.join(out_dir, os.path.basename(path)))
    name = os.path.relpath(path, ROOT)
    if failure:
        index, cell = failure
        print(f"FAIL {name}: cell {index} failed after {time.time() - started:.0f}s", flush=True)
        print("---- cell source ----\n" + cell.source, flush=True)
        print("---- cell output ----\n" + cell_output_text(cell), flush=True)
        return False
    print(f"ok   {name} ({time.time() - started:.0f}s)", flush=True)
    return True


def main():
    args = sys.argv[1:]
    out_dir = os.path.join(ROOT, "out", "executed")
    if "--out" in args:
        at = args.index("--out")
        out_dir = os.path.abspath(args[at + 1])
        del args[at:at + 2]
    paths = args or sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    if not paths:
        print("no notebooks found in notebooks/")
        return 1
    results = [run(os.path.abspath(p), out_dir) for p in paths]
    passed = sum(results)
    print(f"notebooks: {passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
