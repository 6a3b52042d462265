/**
 * The character-level tokenizer of the lecture: the vocabulary is the sorted set of characters in the text,
 * and a character's token is its index in that list.
 */
export class CharTokenizer {
  /** itos: token -> character. */
  readonly chars: readonly string[];
  private readonly stoi: Map<string, number>;

  constructor(chars: readonly string[]) {
    if (new Set(chars).size !== chars.length) throw new Error("CharTokenizer: the vocabulary has a repeated character.");
    this.chars = chars;
    this.stoi = new Map(chars.map((c, i) => [c, i]));
  }

  /** Builds the vocabulary from a text: every distinct character, sorted. */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(Array.from(text))].sort());
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  /** string -> list of tokens. A character outside the vocabulary is an error that names it. */
  encode(text: string): number[] {
    if (typeof text !== "string") {
      const shown = typeof text === "object" ? (Array.isArray(text) ? "an array" : "an object") : `a ${typeof text}: ${String(text)}`;
      throw new TypeError(`encode takes a string (the text to tokenize), got ${shown}. To turn token ids back into text, use decode.`);
    }
    const out: number[] = [];
    let i = 0;
    for (const ch of text) {
      const id = this.stoi.get(ch);
      if (id === undefined) {
        const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        throw new Error(
          `Cannot encode ${JSON.stringify(ch)} (U+${code}) at position ${i}: it is not one of the ${this.vocabSize} characters ` +
            `of the vocabulary. Remove it from the text, or build the tokenizer from a text that contains it.`,
        );
      }
      out.push(id);
      i++;
    }
    return out;
  }

  /**
   * list of token ids -> string. Takes a number[] or a typed array (Int32Array, Float32Array, ...) of integer ids.
   * Not a tensor: reading one is asynchronous on a GPU, so pass its values, `decode(await t.data())`.
   */
  decode(tokens: ArrayLike<number>): string {
    if (isTensor(tokens)) {
      throw new TypeError(
        `decode takes token ids as an array (number[] or Int32Array), not a tensor of shape (${tokens.shape}): ` +
          `read it first, tokenizer.decode(await t.data()) for a 1-D tensor (for a (1, T) one, the same: its ids in order).`,
      );
    }
    if (typeof (tokens as unknown as PromiseLike<unknown>)?.then === "function") {
      throw new TypeError("decode takes an array of token ids, got a Promise: await it first, tokenizer.decode(await generate(model, [0], 100)).");
    }
    if (tokens === null || typeof tokens !== "object" || typeof tokens.length !== "number") {
      throw new TypeError(`decode takes an array of token ids (number[] or Int32Array), got ${tokens === null ? "null" : typeof tokens}.`);
    }
    let s = "";
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      if (Array.isArray(id) || ArrayBuffer.isView(id)) {
        throw new TypeError(`decode takes one sequence at a time, a flat list of ids; item ${i} is itself a list. Decode each row: decode(rows[0]).`);
      }
      if (typeof id !== "number" || !Number.isInteger(id)) {
        throw new TypeError(`decode: ${JSON.stringify(id) ?? String(id)} at position ${i} is not a token id (an integer from 0 to ${this.vocabSize - 1}).`);
      }
      const c = this.chars[id];
      if (c === undefined || id < 0) throw new Error(`Cannot decode token ${id} at position ${i}: tokens run from 0 to ${this.vocabSize - 1}.`);
      s += c;
    }
    return s;
  }
}

/** A tensor-like value (tfjs's Tensor), recognised without importing tfjs. */
function isTensor(x: unknown): x is { shape: number[]; dataSync: unknown } {
  return typeof x === "object" && x !== null && "dataSync" in x && "shape" in x;
}
