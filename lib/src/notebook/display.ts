/** The one place the library talks to the notebook: tslab's display, loaded only when a lesson asks to show something. */
import type * as Tslab from "tslab";

export function tslabDisplay(): Tslab.Display {
  let tslab: typeof Tslab;
  try {
    tslab = require("tslab");
  } catch {
    throw new Error("Showing rich output needs tslab (npm install). Outside a notebook, use the *Html functions and write the HTML to a file.");
  }
  return tslab.display;
}
