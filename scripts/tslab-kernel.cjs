#!/usr/bin/env node
// The project's Jupyter kernel: tslab, with one repair. tslab sends its messages with zeromq 6's `socket.send` without
// waiting for the previous send on the same socket to finish. When one is still in progress (a training cell's burst
// of progress updates on a busy machine), the next throws "Socket is busy writing" (EBUSY) and the kernel dies.
// Here each socket's sends wait for the one before, in order; nothing else changes.
// jupyter/kernels/tslab/kernel.json (and Binder's registered copy) start this file; test/kernel-launcher.test.ts
// shows the crash and the repair.

/** Makes every zeromq socket send one message at a time, in order. Returns a function that undoes it. */
function sendInOrder(zmq) {
  const proto = zmq.Socket.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, "send"); // native: not writable, but configurable
  const send = original.value;
  const pending = new WeakMap(); // socket -> its last send, settled either way
  Object.defineProperty(proto, "send", {
    ...original,
    value: function send_in_order(message) {
      const sent = (pending.get(this) ?? Promise.resolve()).then(() => send.call(this, message));
      pending.set(this, sent.catch(() => {}));
      return sent;
    },
  });
  return () => Object.defineProperty(proto, "send", original);
}

module.exports = { sendInOrder };

if (require.main === module) {
  sendInOrder(require("zeromq"));
  require("tslab/dist/main.js").main();
}
