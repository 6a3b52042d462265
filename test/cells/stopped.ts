// Training stopped means stopped: the optimizer's step count does not move any more.
const t1 = optimizer.t;
await new Promise((resolve) => setTimeout(resolve, 500));
console.log(JSON.stringify({ tensors: tf.memory().numTensors, t: optimizer.t, moved: optimizer.t - t1, training: model.training }));
