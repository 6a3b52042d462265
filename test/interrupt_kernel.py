"""Interrupts the project's tslab kernel in the middle of training, as Jupyter's stop button does, and checks the result.

Jupyter interrupts a tslab kernel with SIGINT (the kernelspec has no interrupt_mode, so "signal"). tslab then ends the
cell at once ("Interrupted asynchronously"); train() must stop too, at a step boundary, instead of running on in the
background. The test starts the kernel, trains a model in one cell, interrupts it after some steps, and checks in the
next cells: the live line says where training stopped, training has really stopped, the tensor count is back where it
was, the model generates, and training resumes from there. Then it interrupts a long evaluation the same way.
Usage: python3 test/interrupt_kernel.py   (npm run test:interrupt sets JUPYTER_PATH and the dataset)
"""
import json
import os
import queue
import sys
import time

from jupyter_client.manager import start_new_kernel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS = os.path.join(ROOT, "jupyter", "kernels")
KERNEL_NAME = next(d for d in sorted(os.listdir(KERNELS)) if os.path.exists(os.path.join(KERNELS, d, "kernel.json")))

CELLS = os.path.join(ROOT, "test", "cells")


def cell(name):
    """The source of test/cells/NAME.ts, a cell the browser test runs too."""
    with open(os.path.join(CELLS, name + ".ts"), encoding="utf-8") as f:
        return f.read()


SETUP = cell("setup")  # a small model, its optimizer, and report(): tensors, optimizer step, training mode
LONG_TRAINING = cell("long-training")  # trains until interrupted, with the live line "long run: step ..."
STOPPED = cell("stopped")  # the optimizer's step count does not move any more
RESUME = cell("resume")  # generates, then 20 more training steps
LONG_EVALUATION = cell("long-evaluation")  # evaluates until interrupted, "long evaluation: evaluating ..."


class Kernel:
    def __init__(self):
        self.km, self.kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=os.path.join(ROOT, "notebooks"))
        self.lines = {}  # display_id -> latest text/plain, from every cell

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def _next(self, timeout):
        msg = self.kc.get_iopub_msg(timeout=timeout)
        content = msg["content"]
        if msg["msg_type"] in ("display_data", "update_display_data") and "text/plain" in content.get("data", {}):
            self.lines[content["transient"]["display_id"]] = content["data"]["text/plain"]
        return msg

    def start(self, code):
        return self.kc.execute(code)

    def wait(self, msg_id, timeout=60, until=None):
        """Reads output until the cell is idle (or `until(self)` is true); returns the cell's stdout and stderr."""
        out = {"stdout": "", "stderr": ""}
        deadline = time.time() + timeout
        while time.time() < deadline:
            if until and until(self):
                return out
            try:
                msg = self._next(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out[msg["content"]["name"]] += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                out["stderr"] += f"{msg['content']['ename']}: {msg['content']['evalue']}"
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                if until:
                    raise AssertionError(f"the cell ended before what the test waits for; its output: {out}")
                return out
        raise AssertionError(f"cell did not finish within {timeout}s; output so far: {out}")

    def reply(self, msg_id, timeout=30):
        while True:
            msg = self.kc.get_shell_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def run(self, code, timeout=120):
        msg_id = self.start(code)
        out = self.wait(msg_id, timeout)
        status = self.reply(msg_id)["status"]
        if out["stderr"] or status != "ok":
            raise AssertionError(f"cell failed ({status}):\n{code}\n{out['stderr']}")
        return out["stdout"]

    def json(self, code):
        return json.loads(self.run(code).strip().splitlines()[-1])

    def line(self, label):
        return next((text for text in self.lines.values() if text.startswith(label + ":")), "")

    def interrupt_when(self, code, label, ready, timeout=60):
        """Runs `code`, interrupts the kernel once `ready(line)` holds for the live line `label`, and waits for the cell
        to end and the line to say it was interrupted. Returns (cell output, final line, seconds from interrupt to it)."""
        msg_id = self.start(code)
        self.wait(msg_id, timeout, until=lambda k: ready(k.line(label)))
        self.km.interrupt_kernel()
        sent = time.time()
        out = self.wait(msg_id, timeout)
        self.wait(msg_id, 30, until=lambda k: "interrupted at step" in k.line(label))
        latency = time.time() - sent
        assert self.reply(msg_id)["status"] == "error"
        # After a failed cell tslab drops the requests that reach it within 200 ms (Jupyter's "abort the queued
        # cells"); a person is slower than that, the test waits.
        time.sleep(0.5)
        return out, self.line(label), latency


def step_of(line):
    """The step in "label: step 123/1000 · ..." or "label: interrupted at step 123/1000 ..."; -1 if none."""
    for word in ("interrupted at step ", "step "):
        if word in line:
            return int(line.split(word, 1)[1].split("/", 1)[0])
    return -1


def main():
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [os.path.join(ROOT, "jupyter"), os.environ.get("JUPYTER_PATH")]))
    started = time.time()
    kernel = Kernel()
    try:
        before = kernel.json(SETUP)

        out, line, latency = kernel.interrupt_when(LONG_TRAINING, "long run", lambda l: step_of(l) >= 150)
        assert "Interrupted" in out["stderr"], f"tslab ends the interrupted cell with an error; got {out}"
        assert "training finished" not in out["stdout"], "the rest of the interrupted cell must not run"
        stopped_at = step_of(line)
        assert stopped_at >= 150 and "the model keeps the weights of step" in line, line
        assert latency < 5, f"training took {latency:.1f}s to stop after the interrupt"

        after = kernel.json(STOPPED)
        assert after["moved"] == 0, f"training went on in the background: {after}"
        assert after["t"] == stopped_at, f"the optimizer took {after['t']} steps, the line says {stopped_at}"
        assert after["tensors"] == before["tensors"], f"tensors: {before['tensors']} before training, {after['tensors']} after"

        resumed = kernel.json(RESUME)
        assert resumed["sample"] == 61 and resumed["steps"] == 20 and resumed["finite"], resumed
        assert resumed["t"] == stopped_at + 20 and resumed["tensors"] == before["tensors"], resumed

        out, eval_line, eval_latency = kernel.interrupt_when(LONG_EVALUATION, "long evaluation", lambda l: "evaluating" in l)
        assert "evaluation finished" not in out["stdout"], out
        assert step_of(eval_line) == 0, eval_line
        assert eval_latency < 5, f"the evaluation took {eval_latency:.1f}s to stop after the interrupt"
        final = kernel.json("report();")
        assert final["tensors"] == before["tensors"] and final["training"] and final["t"] == resumed["t"], final
    finally:
        kernel.close()
    print(f"ok   interrupt: training stopped at step {stopped_at}, {latency * 1000:.0f} ms after the kernel's interrupt, "
          f"with {before['tensors']} tensors as before; generation and resumed training work; an evaluation stopped in "
          f"{eval_latency * 1000:.0f} ms ({time.time() - started:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
