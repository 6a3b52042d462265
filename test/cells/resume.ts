// After an interrupt the model generates, and training resumes from the step it stopped at.
const sample = tokenizer.decode(await generate(model, [0], 60, { rng: new Rng(7) }));
const resumed = await train(model, optimizer, split, { batchSize: 32, blockSize: 8, maxIters: 20, evalInterval: 20, evalIters: 2, rng: rng });
console.log(JSON.stringify({ sample: sample.length, steps: resumed.stepLosses.length, finite: resumed.stepLosses.every(Number.isFinite), t: optimizer.t, tensors: tf.memory().numTensors }));
