"""The benchmark's PyTorch side: the same GPT as lib/src/models/gpt.ts (gpt.py's model with nanoGPT's batched
attention), timed the same way. Run by `npm run bench`, once per PyTorch it finds (Debian's python3-torch; a PyTorch 2.x
in .venv-bench, from `npm run setup:bench`), eagerly and, where the spec asks ("compile": true, PyTorch 2.x), with
torch.compile. The spec's "device": "cuda" times it on the GPU instead (the GPU run, scripts/gpu-run.sh): the batches
are drawn there, and each step waits for the GPU to finish (torch.cuda.synchronize) before its time is taken.

It serves requests, one JSON object a line on stdin, one JSON answer a line on stdout, so that the benchmark can take
turns with it: a few steps of ours, a few of PyTorch's, and again (this machine's speed drifts over seconds; runs one
after the other would compare different moments). The first line is the spec (models, vocabSize, warmup, compile,
device); it answers with the installation's facts. Then:
  {"model": name, "steps": n}  ->  {"times": [ms, ...]}  (the model is built, and warmed up, on its first request)
  {"generate": chars}          ->  {"charsPerSec": x}    (eager only; null under torch.compile)
It exits at the end of its input."""
import json
import os
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * k.shape[-1] ** -0.5
        att = att.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.sa = CausalSelfAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size, dropout):
        super().__init__()
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T, device=idx.device))
        logits = self.lm_head(self.ln_f(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss


class TrainingRun:
    """One model's training, kept between requests: its weights, optimizer and (torch.compile) compiled step."""

    def __init__(self, spec, m):
        c = m["config"]
        self.spec, self.B, self.T = spec, m["batchSize"], c["blockSize"]
        self.device = torch.device(spec.get("device", "cpu"))
        self.model = GPTLanguageModel(spec["vocabSize"], c["nEmbd"], c["nHead"], c["nLayer"], c["blockSize"], c.get("dropout", 0.0)).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=m["learningRate"])
        # torch.compile traces and compiles forward and backward on the first (warm-up) step, which is not timed.
        self.step_model = torch.compile(self.model) if spec.get("compile") else self.model
        warmup = 1 if m.get("steps") and m["steps"] < 10 else spec["warmup"]
        if spec.get("compile"):
            warmup = max(warmup, 2)  # the first steps compile (and may recompile once): not timed
        self.steps(warmup)

    def steps(self, n):
        times = []
        for _ in range(n):
            x = torch.randint(self.spec["vocabSize"], (self.B, self.T), device=self.device)
            y = torch.randint(self.spec["vocabSize"], (self.B, self.T), device=self.device)
            if self.device.type == "cuda":
                torch.cuda.synchronize()  # the batch is drawn before the clock starts, as on the CPU
            t0 = time.perf_counter()
            _, loss = self.step_model(x, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.device.type == "cuda":
                torch.cuda.synchronize()  # the GPU runs the step asynchronously: its time is taken once it has finished
            times.append((time.perf_counter() - t0) * 1000)
        return times


@torch.no_grad()
def time_generation(spec, m, chars):
    c = m["config"]
    model = GPTLanguageModel(spec["vocabSize"], c["nEmbd"], c["nHead"], c["nLayer"], c["blockSize"], 0.0).eval()
    idx = torch.zeros((1, 1), dtype=torch.long)
    t0 = time.perf_counter()
    for _ in range(chars):
        logits, _ = model(idx[:, -model.block_size:])
        probs = F.softmax(logits[:, -1, :], dim=-1)
        idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
    return chars / (time.perf_counter() - t0)


def blas_name():
    if not torch.__file__.startswith("/usr/"):  # a wheel: its own bundled MKL / oneDNN
        return "bundled (" + ", ".join(n for n, ok in (("MKL", torch.backends.mkl.is_available()), ("oneDNN", torch.backends.mkldnn.is_available())) if ok) + ")"
    # Debian's torch is built against the "generic" system BLAS: say which library the libblas.so.3 alternative picks.
    try:
        lib = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
        return f"{os.path.basename(os.path.dirname(lib))} ({lib})"  # openblas-pthread, openblas-openmp or blas (reference)
    except OSError:
        return "unknown"


def cores():
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (taskset, containers)
    except AttributeError:
        return os.cpu_count()


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def facts(spec):
    """The installation's facts, the first answer: version, mode, BLAS, threads, and the GPU's name on "cuda"."""
    mode = "torch.compile" if spec.get("compile") else "eager"
    info = {"torch": torch.__version__, "mode": mode, "blas": blas_name(), "threads": torch.get_num_threads()}
    if spec.get("device", "cpu") == "cuda":
        return {**info, "blas": "cuBLAS", "gpu": torch.cuda.get_device_name()}
    return {**info, "capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None}


def main():
    spec = json.loads(sys.stdin.readline())
    if spec.get("compile") and not hasattr(torch, "compile"):
        sys.exit(f"torch.compile needs PyTorch 2.x; this is {torch.__version__}")
    if spec.get("device", "cpu") not in ("cpu", "cuda"):
        sys.exit(f'the spec\'s device must be "cpu" or "cuda", got {spec["device"]!r}')
    if spec.get("device") == "cuda" and not torch.cuda.is_available():
        sys.exit(f"the spec asks for device cuda, but this PyTorch ({torch.__version__}) sees no CUDA GPU (torch.cuda.is_available() is False)")
    torch.manual_seed(1337)
    torch.set_num_threads(cores())  # PyTorch at its best on this machine: all cores
    models = {m["name"]: m for m in spec["models"]}
    runs = {}
    answer(facts(spec))
    for line in sys.stdin:
        request = json.loads(line)
        if "generate" in request:
            # Generation grows the input a token at a time (a new shape each step): timed eagerly only.
            answer({"charsPerSec": None if spec.get("compile") else time_generation(spec, spec["models"][0], request["generate"])})
        else:
            name = request["model"]
            if name not in runs:
                runs[name] = TrainingRun(spec, models[name])
            answer({"times": runs[name].steps(request["steps"])})
            if request.get("last"):
                del runs[name]  # frees the model before the next one


if __name__ == "__main__":
    main()
