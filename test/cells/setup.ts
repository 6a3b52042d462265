// A small model and its optimizer on tiny Shakespeare, for the tests that train in a kernel (test/interrupt_kernel.py,
// the browser test's scratch notebooks). report() prints the tensor count, the optimizer's step and the model's mode.
import * as tf from "@tensorflow/tfjs";
import { initBackend, loadTinyShakespeare, CharTokenizer, trainValSplit, Rng, configs, AdamW, train, generate, liveProgress } from "@build-gpt/lib";
await initBackend();
const text = await loadTinyShakespeare();
const tokenizer = CharTokenizer.fromText(text);
const split = trainValSplit(tokenizer.encode(text), 0.9);
const rng = new Rng(1337);
const model = configs.build(configs.named("residual"), tokenizer.vocabSize, rng);
const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
const report = () => console.log(JSON.stringify({ tensors: tf.memory().numTensors, t: optimizer.t, training: model.training }));
report();
