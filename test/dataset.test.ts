import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadTinyShakespeare, TINY_SHAKESPEARE } from "@build-gpt/lib/internal";
import "./helpers";

const good = () => readFileSync(process.env.TINYSHAKESPEARE_PATH!);

/** A local HTTP server on 127.0.0.1 that serves `body`; returns its URL and a counter of requests. */
async function serve(body: Buffer | string): Promise<{ url: string; server: Server; hits: () => number }> {
  let n = 0;
  const server = createServer((_req, res) => {
    n++;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/input.txt`, server, hits: () => n };
}

test("TINYSHAKESPEARE_PATH names the local copy that is loaded and verified", async () => {
  const text = await loadTinyShakespeare();
  assert.equal(text.length, 1_115_394);
});

test("a path that does not exist is an error naming the variable", async () => {
  await assert.rejects(loadTinyShakespeare({ path: "/nonexistent/input.txt" }), /TINYSHAKESPEARE_PATH.*does not exist/);
});

test("a local file with the wrong checksum is a clear error", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const file = path.join(dir, "input.txt");
  writeFileSync(file, "To be, or not to be\n");
  await assert.rejects(loadTinyShakespeare({ path: file }), /not tiny Shakespeare: its sha256 is [0-9a-f]{64}, expected 86c4e6aa/);
});

test("the first load downloads, verifies and caches; the next one reads the cache", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const { url, server, hits } = await serve(good());
  try {
    const first = await loadTinyShakespeare({ path: "", dataDir, url });
    assert.equal(first.length, 1_115_394);
    assert.ok(existsSync(path.join(dataDir, "tinyshakespeare", "input.txt")));
    const second = await loadTinyShakespeare({ path: "", dataDir, url });
    assert.equal(second, first);
    assert.equal(hits(), 1);
    assert.deepEqual(readdirSync(path.join(dataDir, "tinyshakespeare")), ["input.txt"]); // no temporary left behind
  } finally {
    server.close();
  }
});

test("a bad download is rejected and never replaces the cached file", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const cached = path.join(dataDir, "tinyshakespeare", "input.txt");
  mkdirSync(path.dirname(cached), { recursive: true });
  writeFileSync(cached, "a damaged cache"); // the cache is bad, so a download is attempted
  const { url, server } = await serve("<html>rate limited</html>");
  try {
    await assert.rejects(loadTinyShakespeare({ path: "", dataDir, url }), /not tiny Shakespeare/);
    assert.equal(readFileSync(cached, "utf8"), "a damaged cache"); // untouched: no partial or wrong file moved in
    assert.deepEqual(readdirSync(path.dirname(cached)), ["input.txt"]);
  } finally {
    server.close();
  }
});

test("offline with no local file: the error names TINYSHAKESPEARE_PATH", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gpt-data-"));
  const { url, server } = await serve("");
  server.close(); // nothing listens there any more
  await new Promise((r) => server.once("close", r));
  await assert.rejects(loadTinyShakespeare({ path: "", dataDir, url, timeoutMs: 5000 }), new RegExp(`Could not download.*${TINY_SHAKESPEARE.envVar}=`, "s"));
});
