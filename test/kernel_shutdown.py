"""Shuts the project's tslab kernel down N times, as Jupyter does, and shows what "Socket is closed" is.

Where it can come from, reading tslab 1.0.22's dist/jupyter.js: on shutdown_request (control channel) it sends
shutdown_reply, publishes status idle, then closes its five zeromq sockets while its receive loops (`for await` over
each socket) and its heartbeat echo are still pending on them; a loop woken by the close, or a heartbeat arriving in
between, gets zeromq's "Socket is closed", which nobody catches, so Node prints it as the process exits. That is a
race, after the reply. The test checks what would make it harmful: each time, the kernel ran the cell before, answered
shutdown_reply, and exited by itself with code 0 within Jupyter's wait (no SIGKILL); it alternates a client's
shutdown_request and KernelManager.shutdown_kernel (nbclient's cleanup), and counts the runs that printed the error.
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
        process = km.provisioner.process
        if i % 2 == 1:
            # nbclient's way (its cleanup): KernelManager.shutdown_kernel sends shutdown_request on its own control
            # socket and waits for the process; a kernel that does not exit in time is killed (exit code -9)
            t0 = time.time()
            km.shutdown_kernel(now=False)
            exit_code = process.poll()
            kc.stop_channels()
            km.cleanup_resources()
            err.seek(0)
            stderr = err.read()
            return {"ran": ran, "replied": exit_code == 0, "exited": exit_code == 0, "exit_code": exit_code,
                    "exit_s": time.time() - t0, "socket_closed": "Socket is closed" in stderr, "how": "KernelManager.shutdown_kernel"}
        # a client's shutdown_request on the control channel, then waiting for the process to exit
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
            "exit_s": time.time() - t0, "socket_closed": socket_closed, "how": "client shutdown_request"}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    results = [once(i) for i in range(n)]
    closed = sum(r["socket_closed"] for r in results)
    bad = [r for r in results if not (r["ran"] and r["replied"] and r["exited"])]
    for i, r in enumerate(results):
        print(f"  shutdown {i + 1} ({r['how']}): cell ran {r['ran']}, shutdown_reply {r['replied']}, exited by itself {r['exited']} "
              f"(code {r['exit_code']}, {r['exit_s']:.1f}s), 'Socket is closed' {r['socket_closed']}", flush=True)
    print(f"kernel shutdown: {n} shutdowns, 'Socket is closed' in {closed}; "
          f"{n - len(bad)} answered shutdown_reply and exited by themselves", flush=True)
    if bad:
        print("FAIL: a kernel did not answer shutdown or had to be killed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
