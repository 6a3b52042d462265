// A short training run: its live line and live loss chart, redrawn in place while it trains.
const run = await train(model, optimizer, split, {
  batchSize: 16, blockSize: 8, maxIters: 120, evalInterval: 30, evalIters: 4, rng: rng, progress: liveProgress({ label: "short run" }),
});
