/** The one place the library talks to the notebook: tslab's display, loaded only when a lesson asks to show something. */
import { randomBytes } from "node:crypto";
import type * as Tslab from "tslab";

function tslab(): typeof Tslab {
  try {
    return require("tslab");
  } catch {
    throw new Error("Showing rich output needs tslab (npm install). Outside a notebook, use the *Html functions and write the HTML to a file.");
  }
}

export function tslabDisplay(): Tslab.Display {
  return tslab().display;
}

/** A display whose every .text()/.html() replaces what it showed before: one output, updated in place. */
export function newTslabDisplay(): Tslab.Display {
  return tslab().newDisplay();
}

/**
 * Whether this code runs in a tslab kernel that is executing a cell, so that a display would show. The kernel has
 * loaded tslab's jupyter module and set its current output writer; plain Node has not (and loading tslab here just to
 * ask would cost a TypeScript compiler), so the answer is read from the module cache.
 */
export function inNotebook(): boolean {
  return displayWriter() !== undefined;
}

type DisplayWriter = (content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } }, update: boolean) => void;

/** The running kernel's writer of display_data messages (tslab's jupyter module), or undefined outside a cell. */
function displayWriter(): DisplayWriter | undefined {
  if (typeof require === "undefined" || !require.cache) return undefined; // not Node's CommonJS: no kernel here
  const kernel = Object.entries(require.cache).find(([file]) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file))?.[1];
  return kernel?.exports?.lastWriteDisplayData ?? undefined;
}

/** A MIME bundle: one output that the front end shows in the richest form it can render (tslab's display sends one type). */
export type MimeBundle = Record<string, unknown>;

/**
 * A display for MIME bundles; with `{ updatable: true }` every call after the first replaces what it showed (one
 * output, updated in place), otherwise every call adds an output.
 */
export function bundleDisplay({ updatable = false } = {}): (bundle: MimeBundle) => void {
  const id = updatable ? randomBytes(8).toString("hex") : undefined;
  let shown = false;
  return (bundle) => {
    const write = displayWriter();
    if (!write) throw new Error("Showing rich output needs a running tslab kernel (a notebook cell).");
    write({ data: bundle, metadata: {}, transient: id ? { display_id: id } : {} }, updatable && shown);
    shown = true;
  };
}
