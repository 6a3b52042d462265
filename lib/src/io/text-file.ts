/** Reading a training text the user names (npm run train -- --data FILE), with errors that say what is wrong with it. */
import { existsSync, readFileSync, statSync } from "node:fs";

/** The fewest characters a text needs for `blockSize`: the 10% validation split must be longer than one block. */
export function minimumTextLength(blockSize: number, trainFraction = 0.9): number {
  let n = blockSize + 2;
  while (n - Math.floor(trainFraction * n) <= blockSize) n++;
  return n;
}

/** The UTF-8 text of `file`: a missing, empty, binary or not-UTF-8 file is an error that says so. */
export function readTrainingText(file: string): string {
  if (!existsSync(file)) throw new Error(`--data ${file}: no such file. Give the path of a UTF-8 text file.`);
  const stat = statSync(file);
  if (stat.isDirectory()) throw new Error(`--data ${file} is a directory; give the path of a UTF-8 text file in it.`);
  if (!stat.isFile()) throw new Error(`--data ${file} is not a regular file (a device, a pipe or a socket, which may never end): give the path of a UTF-8 text file.`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`--data ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check that it is yours to read.`);
  }
  if (bytes.length === 0) throw new Error(`--data ${file} is empty; a training text needs characters to learn from.`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new Error(`--data ${file} looks binary (a zero byte at offset ${nul}): give a UTF-8 text file (plain text: .txt, .md, source code), not a binary one.`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`--data ${file} is not valid UTF-8 text (it may be binary, or in another encoding such as Latin-1: convert it with iconv -t UTF-8).`);
  }
}

/** Throws unless `chars` characters are enough for `blockSize`, naming the minimum. */
export function checkTextLength(source: string, chars: number, blockSize: number): void {
  const min = minimumTextLength(blockSize);
  if (chars < min) {
    throw new Error(
      `${source} has ${chars} characters, too short for block size ${blockSize}: it needs at least ${min} (the last 10%, ` +
        `the validation split, must be longer than one block of ${blockSize}). Use a longer text or a smaller --block-size.`,
    );
  }
}
