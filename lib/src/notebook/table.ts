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

/** An HTML table; floats shown with `precision` decimals. */
export function tableHtml(df: Tabular, { precision = 4 } = {}): string {
  const rows = (df.values as unknown[]).map((r) => (Array.isArray(r) ? r : [r]));
  const head = df.columns.map((c) => `<th style="text-align:right">${escape(String(c))}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((v) => `<td style="text-align:right">${cell(v, precision)}</td>`).join("")}</tr>`).join("\n");
  return `<table class="gpt-table"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Shows a table in the notebook (tslab). */
export function showTable(df: Tabular, options: { precision?: number } = {}): void {
  tslabDisplay().html(tableHtml(df, options));
}
