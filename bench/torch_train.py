"""The speedrun's PyTorch side: trains the same GPT as lib/src/models/gpt.ts (gpt.py's model, nanoGPT's batched
attention, gpt.py's N(0, 0.02) initialisation) on tiny Shakespeare within a wall-clock budget, the way our
`npm run train -- --max-minutes M` does: nanoGPT's AdamW parameter groups (matrices decay, vectors do not), gradient
clipping, a linear warm-up, and a cosine that follows the clock so that it ends when the budget does; the last
evaluation inside the budget. Run by `npm run speedrun -- --compare`.

Input: one JSON object on stdin, the configuration in our registry's names (nEmbd, nHead, nLayer, blockSize, dropout,
batchSize, learningRate, warmupIters, minLr, weightDecay, beta1, beta2, gradClip, maxMinutes, maxIters,
evalInterval, evalIters, wholeVal), plus "data" (the text's path), "seed" and "compile" (torch.compile, PyTorch 2.x).
Output: one JSON line per evaluation ({"step", "train", "val", "seconds"}), then the result
({"done": true, "step", "train", "val", "seconds", "tokens", "torch", "mode"}).
"""
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import GPTLanguageModel, cores  # noqa: E402  (the benchmark's model: the same maths as ours)


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return data[:n], data[n:], len(chars)


def init_weights(model):
    """gpt.py's _init_weights: every Linear and Embedding weight from N(0, 0.02), every Linear bias zero."""
    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, torch.nn.Linear) and m.bias is not None:
            torch.nn.init.zeros_(m.bias)


def optimizer_for(model, c):
    """nanoGPT's configure_optimizers: weight decay on the matrices and embeddings, none on biases and LayerNorm."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": c["weightDecay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=c["learningRate"], betas=(c["beta1"], c["beta2"]))


def learning_rate(c, step, progress):
    """lib/src/train/schedule.ts: warm-up over steps, then the cosine from the peak to minLr over the budget's time."""
    if step < c["warmupIters"]:
        return c["learningRate"] * (step + 1) / (c["warmupIters"] + 1)
    d = min(1.0, max(0.0, progress))
    return c["minLr"] + 0.5 * (1.0 + math.cos(math.pi * d)) * (c["learningRate"] - c["minLr"])


def batch(data, B, T, generator):
    ix = torch.randint(len(data) - T, (B,), generator=generator)
    return torch.stack([data[i:i + T] for i in ix]), torch.stack([data[i + 1:i + T + 1] for i in ix])


@torch.no_grad()
def whole_loss(model, data, B, T):
    """lib/src/train/trainer.ts's wholeLoss: every position once, in consecutive windows of T (the last one shorter)."""
    targets = len(data) - 1
    total, start = 0.0, 0
    while start < targets:
        t = min(T, targets - start)
        b = 1 if t < T else min(B, (targets - start) // T)
        x = torch.stack([data[start + k * t:start + (k + 1) * t] for k in range(b)])
        y = torch.stack([data[start + k * t + 1:start + (k + 1) * t + 1] for k in range(b)])
        total += model(x, y)[1].item() * b * t
        start += b * t
    return total / targets


@torch.no_grad()
def estimate(model, splits, c, generator):
    model.eval()
    out = {}
    for name, data in splits.items():
        if name == "val" and c.get("wholeVal"):
            out[name] = whole_loss(model, data, c["batchSize"], c["blockSize"])
            continue
        losses = [model(*batch(data, c["batchSize"], c["blockSize"], generator))[1].item() for _ in range(c["evalIters"])]
        out[name] = sum(losses) / len(losses)
    model.train()
    return out


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    c = json.load(sys.stdin)
    torch.manual_seed(c.get("seed", 1337))
    torch.set_num_threads(cores())
    train_data, val_data, vocab_size = load(c["data"])
    model = GPTLanguageModel(vocab_size, c["nEmbd"], c["nHead"], c["nLayer"], c["blockSize"], c["dropout"])
    init_weights(model)
    optimizer = optimizer_for(model, c)
    step_model = torch.compile(model) if c.get("compile") else model
    generator = torch.Generator().manual_seed(c.get("seed", 1337))
    budget = c["maxMinutes"] * 60.0
    start = time.perf_counter()
    last_eval = 0.0
    step = 0
    while True:
        elapsed = time.perf_counter() - start
        last = step == c["maxIters"] or elapsed + last_eval >= budget
        if step % c["evalInterval"] == 0 or last:
            t0 = time.perf_counter()
            losses = estimate(step_model, {"train": train_data, "val": val_data}, c, generator)
            last_eval = time.perf_counter() - t0
            point = {"step": step, **losses, "seconds": time.perf_counter() - start}
            emit(point)
        if last:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(c, step, elapsed / budget)
        x, y = batch(train_data, c["batchSize"], c["blockSize"], generator)
        _, loss = step_model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["gradClip"])
        optimizer.step()
        step += 1
    emit({"done": True, **point, "tokens": step * c["batchSize"] * c["blockSize"], "torch": torch.__version__,
          "mode": "torch.compile" if c.get("compile") else "eager"})


if __name__ == "__main__":
    main()
