/** Tables as notebook output: any danfo DataFrame (or anything with columns and rows of values) as an HTML table. */
import { tslabDisplay } from "./display";

/** The part of a danfo DataFrame the table needs. */
export interface Tabular {
  columns: string[];
  values: unknown[][] | unknown[];
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function cell(v: unknown, precision: number): string {
  if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(precision);
  return escape(String(v));
}

/**
 * A column that holds numbers is right-aligned, so that digits line up (a "—" among them too); a column of text only
 * is left-aligned, as text reads.
 */
function alignments(rows: unknown[][], columns: number): ("left" | "right")[] {
  return Array.from({ length: columns }, (_, j) => (rows.some((r) => typeof r[j] === "number") ? "right" : "left"));
}

/** An HTML table; floats shown with `precision` decimals; number columns right-aligned, text columns left-aligned. */
export function tableHtml(df: Tabular, { precision = 4 } = {}): string {
  const rows = (df.values as unknown[]).map((r) => (Array.isArray(r) ? r : [r]));
  const align = alignments(rows, df.columns.length);
  const head = df.columns.map((c, j) => `<th style="text-align:${align[j]}">${escape(String(c))}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((v, j) => `<td style="text-align:${align[j] ?? "left"}">${cell(v, precision)}</td>`).join("")}</tr>`).join("\n");
  return `<table class="gpt-table"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Shows a table in the notebook (tslab). */
export function showTable(df: Tabular, options: { precision?: number } = {}): void {
  tslabDisplay().html(tableHtml(df, options));
}
