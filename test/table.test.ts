import { test } from "node:test";
import assert from "node:assert/strict";
import { tableHtml } from "@build-gpt/lib/internal";

test("tables: text columns are left-aligned, number columns right-aligned", () => {
  const html = tableHtml({ columns: ["character", "count", "note"], values: [["e", 94611, "—"], ["␣", 169892, 0.5]] });
  const headers = [...html.matchAll(/<th style="text-align:(\w+)">([^<]*)<\/th>/g)].map((m) => [m[2], m[1]]);
  assert.deepEqual(headers, [["character", "left"], ["count", "right"], ["note", "right"]]);
  assert.ok(html.includes('<td style="text-align:left">e</td><td style="text-align:right">94611</td><td style="text-align:right">—</td>'));
});
