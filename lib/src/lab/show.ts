/** Rows of a lab tool's result, shown as a table in a notebook and as aligned text anywhere else (a script, a test). */
import { inNotebook } from "../notebook/display";
import { showTable } from "../notebook/table";

export type Row = Record<string, string | number>;

/** The rows as lines of text, columns padded to their widest cell. */
export function rowsText(rows: Row[], precision = 4): string {
  if (rows.length === 0) return "";
  const columns = Object.keys(rows[0]);
  const text = (v: string | number | undefined) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(precision) : String(v ?? ""));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => text(r[c]))))].join("\n");
}

/** Shows the rows: a table under the cell, or text on stdout. */
export function showRows(rows: Row[], precision = 4): void {
  if (rows.length === 0) return;
  if (inNotebook()) showTable({ columns: Object.keys(rows[0]), values: rows.map((r) => Object.values(r)) }, { precision });
  else console.log(rowsText(rows, precision));
}
