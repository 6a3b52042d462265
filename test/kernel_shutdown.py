"""Shuts the project's tslab kernel down N times, as Jupyter does, and shows what "Socket is closed" is.

tslab (1.0.22) handles shutdown_request on the control channel: it sends shutdown_reply, publishes status idle, then
closes its five zeromq sockets. Its receive loops (`for await` over each socket) and its heartbeat echo are still
pending on those sockets; when one of them is woken by the close (or a heartbeat arrives in between), zeromq rejects
with "Socket is closed", nobody catches it, and Node prints the error as the process exits. Whether a loop is woken
in time is a race, hence "about one time in five". It is harmless if, every time, the kernel had already answered
shutdown_reply, ran the cell before it, and exited by itself within Jupyter's wait (no SIGKILL) -- which this checks.
Usage: python3 test/kernel_shutdown.py [N]   (node scripts/jupyter.mjs shutdown sets JUPYTER_PATH)
"""
import os
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def once(i):
    with tempfile.TemporaryFile(mode="w+") as err:
        km = KernelManager(kernel_name="tslab")
        km.start_kernel(cwd=os.path.join(ROOT, "notebooks"), stderr=err, stdout=err)
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive('console.log("ready " + (1 + 1));', timeout=60)
        ran = reply["content"]["status"] == "ok"
        # what KernelManager.shutdown_kernel does: shutdown_request on control, then wait for the process to exit
        kc.shutdown()
        shutdown_reply = None
        deadline = time.time() + 30
        while time.time() < deadline and shutdown_reply is None:
            try:
                msg = kc.get_control_msg(timeout=1)
            except Exception:
                continue
            if msg["msg_type"] == "shutdown_reply":
                shutdown_reply = msg
        t0 = time.time()
        process = km.provisioner.process
        while process.poll() is None and time.time() - t0 < 10:
            time.sleep(0.05)
        exit_code = process.poll()
        exited_alone = exit_code is not None
        kc.stop_channels()
        km.shutdown_kernel(now=True)  # a no-op when it exited; SIGKILL otherwise
        km.cleanup_resources()
        err.seek(0)
        stderr = err.read()
    socket_closed = "Socket is closed" in stderr
    return {"ran": ran, "replied": shutdown_reply is not None, "exited": exited_alone, "exit_code": exit_code,
            "exit_s": time.time() - t0, "socket_closed": socket_closed,
            "other_stderr": "\n".join(l for l in stderr.splitlines() if l.strip() and "ready 2" not in l)
            if not socket_closed else ""}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    results = [once(i) for i in range(n)]
    closed = sum(r["socket_closed"] for r in results)
    bad = [r for r in results if not (r["ran"] and r["replied"] and r["exited"])]
    for i, r in enumerate(results):
        print(f"  shutdown {i + 1}: cell ran {r['ran']}, shutdown_reply {r['replied']}, exited by itself {r['exited']} "
              f"(code {r['exit_code']}, {r['exit_s']:.1f}s), 'Socket is closed' {r['socket_closed']}", flush=True)
    print(f"kernel shutdown: {n} shutdowns, 'Socket is closed' in {closed}; "
          f"{n - len(bad)} answered shutdown_reply and exited by themselves", flush=True)
    if bad:
        print("FAIL: a kernel did not answer shutdown or had to be killed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
