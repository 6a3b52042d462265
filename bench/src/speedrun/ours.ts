/** One of our timed runs: a registry configuration trained on tiny Shakespeare within its time budget. */
import { configs, loadTinyShakespeare, CharTokenizer, trainValSplit, train, terminalProgress, Rng, generate } from "@build-gpt/lib";
import { optimizerFor } from "@build-gpt/lib/internal";

/** What a timed run reached: the last evaluation (inside the budget), and what it took to get there. */
export interface RunResult {
  run: string;
  val: number;
  train: number;
  steps: number;
  tokens: number;
  seconds: number;
  /** 300 characters from the trained model, where the run samples. */
  sample?: string;
}

/**
 * `c` as the comparison and the sweep run it: evaluated only before the first step and when the budget ends, with val
 * measured on the whole val text. Every run's val is then measured alike and without sampling noise, and no run spends
 * its budget on evaluations along the way (nanoGPT's recipe would evaluate every 250 steps).
 */
export const compared = (c: configs.Config) => configs.withOverrides(c, { evalInterval: 100_000_000, wholeVal: true });

/** Trains `c` (its maxMinutes the budget) from seed `seed`; returns where it ended and a sample. */
export async function trainOurs(c: configs.Config, seed = 1337, label = `ours: ${c.name}`): Promise<RunResult> {
  const text = await loadTinyShakespeare();
  const tokenizer = CharTokenizer.fromText(text);
  const split = trainValSplit(tokenizer.encode(text));
  const rng = new Rng(seed);
  const model = configs.build(c, tokenizer.vocabSize, rng);
  const optimizer = optimizerFor(c, model);
  try {
    const result = await train(model, optimizer, split, { ...configs.trainingOf(c), rng, progress: terminalProgress(c.name, { keep: false }) });
    const last = result.history[result.history.length - 1];
    const sample = tokenizer.decode(await generate(model, [0], 300, { rng: new Rng(seed) }));
    return { run: label, val: last.val, train: last.train, steps: last.step, tokens: last.step * c.batchSize * c.blockSize, seconds: result.elapsedMs / 1000, sample };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
