/**
 * tiny Shakespeare: downloaded once from its canonical URL, checked against its sha256, cached in data/.
 * TINYSHAKESPEARE_PATH=/path/to/input.txt uses a local copy instead (tests and CI do).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export const TINY_SHAKESPEARE = {
  url: "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
  sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
  /** The environment variable that names a local copy. */
  envVar: "TINYSHAKESPEARE_PATH",
} as const;

/** The project's data/ folder (lib/dist/data -> ../../../data); GPT_DATA_DIR overrides it. */
export function defaultDataDir(): string {
  return process.env.GPT_DATA_DIR || path.resolve(__dirname, "..", "..", "..", "data");
}

export interface LoadOptions {
  /** A local copy of input.txt; default: the TINYSHAKESPEARE_PATH environment variable. */
  path?: string;
  /** Where the download is cached; default: the project's data/ folder. */
  dataDir?: string;
  /** The URL to download from (a mirror); default: the canonical one. */
  url?: string;
  /** Download timeout in milliseconds. */
  timeoutMs?: number;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** The bytes as text if they are tiny Shakespeare; otherwise an error naming `source`, with `advice` on what to do. */
function checked(bytes: Buffer, source: string, advice: string): string {
  const digest = sha256(bytes);
  if (digest !== TINY_SHAKESPEARE.sha256) {
    throw new Error(
      `${source} is not tiny Shakespeare: its sha256 is ${digest}, expected ${TINY_SHAKESPEARE.sha256}. ` +
        `The file may be truncated or a different text. ${advice}`,
    );
  }
  return bytes.toString("utf8");
}

/** The text of a file the user named (options.path or TINYSHAKESPEARE_PATH), verified. */
function readLocal(local: string): string {
  const named = `${TINY_SHAKESPEARE.envVar} (or the path given) names ${local}`;
  if (!existsSync(local)) throw new Error(`${named}, which does not exist. Fix the path, or unset it to download the data.`);
  if (statSync(local).isDirectory()) {
    throw new Error(`${named}, which is a directory, not a file. Point it at the text file itself, e.g. ${path.join(local, "input.txt")}.`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(local);
  } catch (err) {
    throw new Error(`${named}, which could not be read (${(err as Error).message}). Fix its permissions, or point it at another copy.`);
  }
  return checked(bytes, local, `Point ${TINY_SHAKESPEARE.envVar} at a good copy, or unset it to download one.`);
}

async function download(url: string, timeoutMs: number): Promise<Buffer> {
  const failed = (err: unknown) => {
    const e = err as Error & { cause?: unknown };
    const reason = e.name === "TimeoutError"
      ? `timed out after ${timeoutMs / 1000} s: a stalled or very slow connection`
      : String((e.cause as Error | undefined)?.message ?? e.cause ?? e.message);
    return new Error(
      `Could not download tiny Shakespeare from ${url} (${reason}). Check the connection and run again. ` +
        `If this machine is offline, copy input.txt here by other means and set ${TINY_SHAKESPEARE.envVar}=/path/to/input.txt.`,
    );
  };
  // The timeout covers the whole transfer: a connection that stalls halfway through the body is abandoned too.
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (err) {
    throw failed(err);
  }
  if (!response.ok) {
    throw new Error(
      `Downloading tiny Shakespeare from ${url} failed: HTTP ${response.status} ${response.statusText}. ` +
        `Try again later, or set ${TINY_SHAKESPEARE.envVar}=/path/to/input.txt to use a local copy.`,
    );
  }
  try {
    return Buffer.from(await response.arrayBuffer());
  } catch (err) {
    throw failed(err); // the connection dropped or stalled halfway
  }
}

/**
 * Writes a verified download into the cache: to a temporary file, then renamed into place, so a good cached copy is
 * never replaced by a partial one. A folder that cannot be written is not fatal: the text is used, with a warning.
 */
function cache(bytes: Buffer, dir: string, cached: string): void {
  const temporary = `${cached}.${process.pid}.part`;
  try {
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(temporary, bytes);
      renameSync(temporary, cached);
    } catch (err) {
      rmSync(temporary, { force: true }); // a partial temporary file (a full disk) does not stay behind
      throw err;
    }
  } catch (err) {
    console.warn(
      `tiny Shakespeare was downloaded and verified, but could not be cached in ${dir} (${(err as Error).message}); ` +
        `it will be downloaded again next time. Set GPT_DATA_DIR to a writable folder, or ${TINY_SHAKESPEARE.envVar} to a copy.`,
    );
  }
}

/**
 * Returns the text of tiny Shakespeare (1,115,394 characters), verified against its sha256.
 * Order: options.path, then $TINYSHAKESPEARE_PATH, then the cached copy in data/, then a download into data/.
 * A download is verified, then written to a temporary file and renamed into place: a good cached copy is never replaced
 * by a bad or partial one. A data folder that cannot be written only costs the cache (a warning says so).
 */
export async function loadTinyShakespeare(options: LoadOptions = {}): Promise<string> {
  const local = options.path ?? process.env[TINY_SHAKESPEARE.envVar];
  if (local) return readLocal(local);
  const dir = path.join(options.dataDir ?? defaultDataDir(), "tinyshakespeare");
  const cached = path.join(dir, "input.txt");
  if (existsSync(cached) && statSync(cached).isFile()) {
    const bytes = readFileSync(cached);
    if (sha256(bytes) === TINY_SHAKESPEARE.sha256) return bytes.toString("utf8");
    // A damaged cache: fall through and replace it with a verified download.
  }
  const url = options.url ?? TINY_SHAKESPEARE.url;
  const bytes = await download(url, options.timeoutMs ?? 60_000);
  const text = checked(bytes, `The file downloaded from ${url}`,
    `The server sent something else (an error or proxy page, a cut-off transfer): run again later, or set ${TINY_SHAKESPEARE.envVar}=/path/to/input.txt.`);
  cache(bytes, dir, cached);
  return text;
}
