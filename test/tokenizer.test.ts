import { test } from "node:test";
import assert from "node:assert/strict";
import { CharTokenizer, loadTinyShakespeare } from "@build-gpt/lib/internal";
import "./helpers";

test("the vocabulary of tiny Shakespeare is its 65 sorted characters", async () => {
  const text = await loadTinyShakespeare();
  const tok = CharTokenizer.fromText(text);
  assert.equal(tok.vocabSize, 65);
  assert.equal(tok.chars.join(""), "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  assert.deepEqual(tok.encode("hii there"), [46, 47, 47, 1, 58, 46, 43, 56, 43]);
});

test("decode(encode(s)) gives s back, for the whole text", async () => {
  const text = await loadTinyShakespeare();
  const tok = CharTokenizer.fromText(text);
  assert.equal(tok.decode(tok.encode(text)), text);
});

test("an unknown character is an error that names it and its position", () => {
  const tok = CharTokenizer.fromText("abc ");
  assert.throws(() => tok.encode("ab é"), /"é" \(U\+00E9\) at position 3/);
});

test("decoding a token outside the vocabulary is an error", () => {
  const tok = CharTokenizer.fromText("abc");
  assert.throws(() => tok.decode([0, 3]), /token 3.*0 to 2/);
});

test("characters beyond the Basic Multilingual Plane count as one character", () => {
  const tok = CharTokenizer.fromText("a😀b");
  assert.equal(tok.vocabSize, 3);
  assert.equal(tok.decode(tok.encode("😀ab")), "😀ab");
});
