/**
 * The one argument parser of every command (ladder, bench, train, sample): Node's util.parseArgs in strict mode, typed
 * values, and errors that say what the option takes. `train` adds one option per configuration key (--max-iters 500),
 * each checked against the key's type.
 */
import { parseArgs } from "node:util";
import { describeKey, KEYS, parseSetting, type Settings } from "../configs";

/** string: any text; path: a file or folder name, not empty; count: 0, 1, 2…; positive: 1, 2…; number: any finite number. */
export type OptionType = "string" | "path" | "boolean" | "count" | "positive" | "number";

export interface OptionSpec {
  type: OptionType;
  /** One line for --help. */
  help: string;
  /** The value's name in --help (N, DIR, TEXT). */
  arg?: string;
}

export interface CommandSpec {
  /** `npm run NAME --`. */
  name: string;
  /** What the command does, for --help. */
  summary: string;
  options: Record<string, OptionSpec>;
  /** Accept one --key value per configuration key (train). */
  overrides?: boolean;
}

/** The value an option of this type has once parsed. */
type ValueOf<T extends OptionType> = T extends "boolean" ? boolean : T extends "string" | "path" ? string : number;

/** The parsed values of a command's options, each typed by its spec (undefined when not given). */
export type Values<S extends CommandSpec> = { [K in keyof S["options"]]?: ValueOf<S["options"][K]["type"]> };

export interface Parsed<S extends CommandSpec = CommandSpec> {
  values: Values<S>;
  overrides: Partial<Settings>;
  help: boolean;
}

/** maxIters -> max-iters */
export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** An error of the command line: the command prints its message and exits with status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

function typed(name: string, type: OptionType, raw: string): number | string {
  if (type === "string") return raw;
  if (type === "path") {
    if (raw.trim() === "") throw new UsageError(`--${name} needs a path, got an empty one (is a shell variable unset?).`);
    return raw;
  }
  const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw.trim()) ? Number(raw) : NaN;
  const fail = (what: string) => new UsageError(`--${name} takes ${what}, got ${JSON.stringify(raw)}.`);
  if (type === "count" && !(Number.isInteger(n) && n >= 0)) throw fail("a whole number (0 or more)");
  if (type === "positive" && !(Number.isInteger(n) && n >= 1)) throw fail("a positive whole number");
  if (type === "number" && !Number.isFinite(n)) throw fail("a number");
  return n;
}

/** The option list of --help. */
export function helpText(spec: CommandSpec): string {
  const lines = [`npm run ${spec.name} -- [options]`, "", spec.summary, "", "Options:"];
  const all: [string, OptionSpec][] = [...Object.entries(spec.options), ["help", { type: "boolean", help: "show this help" }]];
  for (const [name, o] of all) {
    const left = `  --${name}${o.type === "boolean" ? "" : ` ${o.arg ?? "N"}`}`;
    lines.push(`${left.padEnd(30)} ${o.help}`);
  }
  return lines.join("\n");
}

/**
 * Parses `argv` (process.argv.slice(2)) for `spec`: an unknown option, a missing value or one of the wrong type is a
 * UsageError that says what is expected (and, for train, lists the configuration keys).
 */
export function parseCommand<S extends CommandSpec>(argv: string[], spec: S): Parsed<S> {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type === "boolean" ? "boolean" : "string" };
  if (spec.overrides) for (const key of KEYS) options[kebab(key)] = { type: "string" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    const e = err as Error & { code?: string };
    let message = e.message.split("\n")[0].replace(/\.$/, "");
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      message += `. Options: ${Object.keys(spec.options).map((n) => `--${n}`).join(", ")}, --help`;
      if (spec.overrides) message += `; configuration keys: ${KEYS.map((k) => `--${kebab(k)}`).join(", ")}`;
    } else if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      message += " (each option takes a value: --name VALUE, or --name=VALUE for a value that starts with a dash)";
    }
    throw new UsageError(`${message}. See npm run ${spec.name} -- --help.`);
  }
  const values: Record<string, string | number | boolean> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const raw = parsed.values[name];
    if (raw === undefined) continue;
    values[name] = typeof raw === "boolean" ? raw : typed(name, o.type, raw as string);
  }
  const overrides: Record<string, unknown> = {};
  if (spec.overrides) {
    for (const key of KEYS) {
      const raw = parsed.values[kebab(key)];
      if (raw === undefined) continue;
      try {
        overrides[key] = parseSetting(key, raw as string);
      } catch (err) {
        throw new UsageError(`--${kebab(key)} (${describeKey(key)}): ${(err as Error).message}`);
      }
    }
  }
  return { values: values as Values<S>, overrides: overrides as Partial<Settings>, help: parsed.values.help === true };
}

/** Runs a command's main, printing an error's message (a UsageError: exit 2; any other: exit 1). */
export function runMain(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
}
