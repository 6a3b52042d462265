/**
 * tiny Shakespeare: downloaded once from its canonical URL, checked against its sha256, cached in data/.
 * TINYSHAKESPEARE_PATH=/path/to/input.txt uses a local copy instead (tests and CI do).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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

function checked(bytes: Buffer, source: string): string {
  const digest = sha256(bytes);
  if (digest !== TINY_SHAKESPEARE.sha256) {
    throw new Error(
      `${source} is not tiny Shakespeare: its sha256 is ${digest}, expected ${TINY_SHAKESPEARE.sha256}. ` +
        `The file may be truncated or a different text. Delete it and run again to download a fresh copy, ` +
        `or point ${TINY_SHAKESPEARE.envVar} at a good copy.`,
    );
  }
  return bytes.toString("utf8");
}

async function download(url: string, timeoutMs: number): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(
      `Could not download tiny Shakespeare from ${url} (${(err as Error).cause ?? (err as Error).message}). ` +
        `If this machine is offline, copy input.txt here by other means and set ${TINY_SHAKESPEARE.envVar}=/path/to/input.txt.`,
    );
  }
  if (!response.ok) {
    throw new Error(
      `Downloading tiny Shakespeare from ${url} failed: HTTP ${response.status} ${response.statusText}. ` +
        `Set ${TINY_SHAKESPEARE.envVar}=/path/to/input.txt to use a local copy.`,
    );
  }
  return Buffer.from(await response.arrayBuffer());
}

/**
 * Returns the text of tiny Shakespeare (1,115,394 characters), verified against its sha256.
 * Order: options.path, then $TINYSHAKESPEARE_PATH, then the cached copy in data/, then a download into data/.
 * A download is written to a temporary file, verified, then renamed into place: a good cached copy is never replaced
 * by a bad or partial one.
 */
export async function loadTinyShakespeare(options: LoadOptions = {}): Promise<string> {
  const local = options.path ?? process.env[TINY_SHAKESPEARE.envVar];
  if (local) {
    if (!existsSync(local)) {
      throw new Error(`${TINY_SHAKESPEARE.envVar} (or the path given) names ${local}, which does not exist. Fix the path, or unset it to download the data.`);
    }
    return checked(readFileSync(local), local);
  }
  const dir = path.join(options.dataDir ?? defaultDataDir(), "tinyshakespeare");
  const cached = path.join(dir, "input.txt");
  if (existsSync(cached)) {
    const bytes = readFileSync(cached);
    if (sha256(bytes) === TINY_SHAKESPEARE.sha256) return bytes.toString("utf8");
    // A damaged cache: fall through and replace it with a verified download.
  }
  const bytes = await download(options.url ?? TINY_SHAKESPEARE.url, options.timeoutMs ?? 60_000);
  const text = checked(bytes, `The file downloaded from ${options.url ?? TINY_SHAKESPEARE.url}`);
  mkdirSync(dir, { recursive: true });
  const temporary = `${cached}.${process.pid}.part`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, cached);
  } finally {
    rmSync(temporary, { force: true });
  }
  return text;
}
