// Training that runs until it is interrupted, with its live line ("long run: step …").
const result = await train(model, optimizer, split, {
  batchSize: 32, blockSize: 8, maxIters: 1000000, evalInterval: 100, evalIters: 4, rng: rng, progress: liveProgress({ label: "long run" }),
});
console.log("training finished: it should have been interrupted");
