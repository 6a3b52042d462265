/** Lesson 7's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "7.1": {
    nudge: "The same four steps as for Shakespeare: a tokenizer of your text, a model of its vocabulary, training, generation.",
    recipe: "build the tokenizer with CharTokenizer.fromText(text), the model with new GPTLanguageModel({ vocabSize: tokenizer.vocabSize, ... }, rng), train it with train(...) on trainValSplit(tokenizer.encode(text)), and decode what generate returns.",
  },
};
