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

  /** list of tokens -> string. */
  decode(tokens: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < tokens.length; i++) {
      const c = this.chars[tokens[i]];
      if (c === undefined) throw new Error(`Cannot decode token ${tokens[i]}: tokens run from 0 to ${this.vocabSize - 1}.`);
      s += c;
    }
    return s;
  }
}
