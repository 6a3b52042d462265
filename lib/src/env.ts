/** Reading the library's environment variables (GPT_FAST, GPT_NATIVE, GPT_THREADS) the same way everywhere. */

type Env = Record<string, string | undefined>;
/** process.env in Node; nothing in a browser. */
const processEnv = (): Env => (typeof process !== "undefined" && process.env ? process.env : {});

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

/**
 * A yes/no environment variable: 1/0, true/false, yes/no, on/off, in any case, spaces trimmed. Unset or empty:
 * undefined (the caller's default). Anything else is an error that lists the accepted spellings.
 */
export function envFlag(name: string, env: Env = processEnv()): boolean | undefined {
  const raw = env[name];
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "") return undefined;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new Error(`${name}=${JSON.stringify(raw)} is not a yes/no value: use 1/0, true/false, yes/no or on/off (or leave it unset).`);
}

/** A positive-integer environment variable; unset or empty: undefined. Anything else is an error. */
export function envPositiveInt(name: string, env: Env = processEnv()): number | undefined {
  const raw = env[name];
  const value = (raw ?? "").trim();
  if (value === "") return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new Error(`${name}=${JSON.stringify(raw)} must be a positive integer (or leave it unset).`);
  return Number(value);
}

/**
 * Runs `f` (or awaits it, if it returns a promise), then calls `restore`, whether f returned, threw or its promise
 * settled: for switching an engine setting for one computation (the native kernels, the fused ones, the ISA).
 */
export function thenRestore<T>(f: () => T, restore: () => void): T {
  let result: T;
  try {
    result = f();
  } catch (err) {
    restore();
    throw err;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
