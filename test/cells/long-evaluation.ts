// An evaluation that runs until it is interrupted ("long evaluation: evaluating …").
await train(model, optimizer, split, {
  batchSize: 32, blockSize: 8, maxIters: 10, evalInterval: 10, evalIters: 1000000, rng: rng, progress: liveProgress({ label: "long evaluation", plot: false }),
});
console.log("evaluation finished: it should have been interrupted");
