/**
 * The kernel launcher (scripts/tslab-kernel.cjs): tslab does not wait for one zeromq send before the next, and
 * zeromq 6 refuses a send while another is in progress (EBUSY), which killed the kernel in busy training cells.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as zmq from "zeromq";

const { sendInOrder } = require(path.resolve(__dirname, "..", "..", "scripts", "tslab-kernel.cjs")) as { sendInOrder: (z: typeof zmq) => () => void };

/** Sends 40 messages without waiting between them, over a pair whose queues hold one; what happened. */
async function burst(address: string): Promise<{ busy: number; received: string[] }> {
  const a = new zmq.Dealer({ sendHighWaterMark: 1 });
  const b = new zmq.Dealer({ receiveHighWaterMark: 1 });
  await a.bind(address);
  b.connect(address);
  let busy = 0;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) {
    try {
      sends.push(a.send(`m${i}`).catch(() => { busy++; }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EBUSY") busy++;
      else throw err;
    }
  }
  const received: string[] = [];
  for (;;) {
    const got = await Promise.race([b.receive(), new Promise<null>((r) => setTimeout(() => r(null), 300))]);
    if (!got) break;
    received.push(String(got[0]));
  }
  await Promise.allSettled(sends);
  a.close();
  b.close();
  return { busy, received };
}

test("tslab's unawaited sends: zeromq refuses them with EBUSY; the launcher sends each in turn, in order", async () => {
  const plain = await burst("inproc://plain");
  assert.ok(plain.busy > 0, "the burst reproduces the EBUSY that crashed the kernel");
  const undo = sendInOrder(zmq);
  try {
    const repaired = await burst("inproc://repaired");
    assert.equal(repaired.busy, 0);
    assert.deepEqual(repaired.received, Array.from({ length: 40 }, (_, i) => `m${i}`));
  } finally {
    undo();
  }
});
