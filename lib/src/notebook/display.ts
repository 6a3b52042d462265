/** The one place the library talks to the notebook: tslab's display, loaded only when a lesson asks to show something. */
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
  if (typeof require === "undefined" || !require.cache) return false; // not Node's CommonJS: no kernel here
  const kernel = Object.entries(require.cache).find(([file]) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file))?.[1];
  return kernel?.exports?.lastWriteDisplayData != null;
}
