/** Lesson 2's hints: a nudge that names the idea, shown with a wrong answer; the recipe, shown when asked. */
import type { Hints } from "./types";

export const HINTS: Record<string, Hints> = {
  "2.1": {
    nudge: "A uniform guess gives every token the same probability; the loss is what cross-entropy makes of the right token's probability.",
    recipe: "a uniform guess gives the right token probability 1 / vocabSize; the loss is minus its natural logarithm, -Math.log(1 / vocabSize).",
  },
  "2.2": {
    nudge: "Cross-entropy is minus the log of the probability the model gave the right token, averaged over the rows.",
    recipe: "per row: softmax turns the logits into probabilities (tf.softmax, or tf.logSoftmax for their logarithms); take the log-probability of the row's target, negate it, and average over the rows (a scalar: .mean()).",
  },
  "2.3": {
    nudge: "The temperature scales the logits before the softmax; the softmax itself is unchanged.",
    recipe: "divide every logit by the temperature, then softmax: exp of each, divided by their sum (subtract the largest logit first, so exp cannot overflow). A temperature below 1 sharpens the distribution, above 1 flattens it.",
  },
  "2.4": {
    nudge: "One step is the lecture's loop body: the loss of the batch, its gradients (PyTorch's loss.backward()), the optimizer's update; in TensorFlow.js also reading the loss out and freeing what the step made.",
    recipe: "const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.parameters()) gives the loss and every weight's gradient by name; optimizer.step(grads) applies AdamW; const loss = (await value.data())[0] reads the loss; tf.dispose([value, grads]) frees both; return loss.",
  },
};
