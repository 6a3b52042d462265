/** Every exercise's hints, by exercise number ("2.2"): one table, assembled from each lesson's file. */
import { HINTS as lesson1 } from "./lesson1";
import { HINTS as lesson2 } from "./lesson2";
import { HINTS as lesson3 } from "./lesson3";
import { HINTS as lesson4 } from "./lesson4";
import { HINTS as lesson5 } from "./lesson5";
import { HINTS as lesson6 } from "./lesson6";
import { HINTS as lesson7 } from "./lesson7";
import type { Hints } from "./types";

export type { Hints } from "./types";

export const HINTS: Readonly<Record<string, Hints>> = Object.freeze({ ...lesson1, ...lesson2, ...lesson3, ...lesson4, ...lesson5, ...lesson6, ...lesson7 });
