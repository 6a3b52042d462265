"""
The PyTorch reference for the parity tests (test/parity.test.ts).

It defines the lecture's modules as gpt.py does (bigram model, Head, MultiHeadAttention, FeedForward, Block,
GPTLanguageModel, and the intermediate models of lessons 4 and 5) plus nanoGPT's batched CausalSelfAttention, builds
each with small seeded weights, runs it, and writes what the TypeScript library must reproduce:

    test/fixtures/parity.json   what each case is: its configuration, inputs, parameter names, where its tensors lie
    test/fixtures/parity.bin    the tensors: float32, little-endian, one after another

Run it with Debian's torch (apt-get install python3-torch):

    /usr/bin/python3 reference/pytorch_reference.py

Weights and inputs are drawn in float32, as PyTorch does; the forward and backward passes and the AdamW step are then
computed in float64 and rounded to float32 when written. The fixtures are thus the exact answers to the float32 inputs,
and they do not depend on the machine's BLAS or thread count: running the script again writes identical files.

The modules differ from gpt.py's only where the fixtures need it: sizes (n_embd, block_size, dropout) are arguments
rather than globals; MultiHeadAttention and FeedForward take a switch for the lecture's intermediate steps (no
projection; a single Linear + ReLU); GPTLanguageModel takes the library's two options, attention="batched" (nanoGPT's
attention in each block) and init="pytorch"; the models share one forward(idx, targets) and have no generate().
Parameter names are gpt.py's, which are the library's (see reference/README.md).
"""
import json
import re
import pathlib
import struct

import torch
import torch.nn as nn
from torch.nn import functional as F

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures"

# tiny Shakespeare's 65 characters, in sorted order: the lecture's vocabulary
CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
stoi = {ch: i for i, ch in enumerate(CHARS)}


# ---------------------------------------------------------------------------------------------------------------------
# The lecture's modules (gpt.py)

class Head(nn.Module):
    """one head of self-attention"""

    def __init__(self, n_embd, head_size, block_size, dropout=0.0):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)   # (B,T,hs)
        q = self.query(x)  # (B,T,hs)
        wei = q @ k.transpose(-2, -1) * k.shape[-1]**-0.5  # (B, T, hs) @ (B, hs, T) -> (B, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))  # (B, T, T)
        wei = F.softmax(wei, dim=-1)  # (B, T, T)
        wei = self.dropout(wei)
        v = self.value(x)  # (B,T,hs)
        return wei @ v  # (B, T, T) @ (B, T, hs) -> (B, T, hs)


class MultiHeadAttention(nn.Module):
    """multiple heads of self-attention in parallel (projection=False: lesson 5's first step, before the residual)"""

    def __init__(self, num_heads, head_size, n_embd, block_size, dropout=0.0, projection=True):
        super().__init__()
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd) if projection else None
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out)) if self.proj is not None else out


class FeedForward(nn.Module):
    """a simple linear layer followed by a non-linearity (full=False: lesson 5's first step, Linear(C, C) + ReLU)"""

    def __init__(self, n_embd, dropout=0.0, full=True):
        super().__init__()
        if full:
            self.net = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd),
                nn.ReLU(),
                nn.Linear(4 * n_embd, n_embd),
                nn.Dropout(dropout),
            )
        else:
            self.net = nn.Sequential(nn.Linear(n_embd, n_embd), nn.ReLU())

    def forward(self, x):
        return self.net(x)


class CausalSelfAttention(nn.Module):
    """nanoGPT's batched attention, as the library has it: c_attn without a bias (nanoGPT's bias=False setting)"""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0):
        super().__init__()
        assert n_embd % n_head == 0
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)  # key, query, value projections for all heads
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head = n_head
        self.n_embd = n_embd
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / k.size(-1)**0.5)
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    """Transformer block: communication followed by computation (attention="batched": nanoGPT's attention at `sa`)"""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0, attention="heads"):
        super().__init__()
        head_size = n_embd // n_head
        if attention == "heads":
            self.sa = MultiHeadAttention(n_head, head_size, n_embd, block_size, dropout)
        else:
            self.sa = CausalSelfAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class LanguageModel(nn.Module):
    """forward(idx, targets) -> (logits, loss), as in the lecture"""

    def logits(self, idx):
        raise NotImplementedError

    def forward(self, idx, targets=None):
        logits = self.logits(idx)
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    def embed(self, idx):
        T = idx.shape[1]
        tok_emb = self.token_embedding_table(idx)  # (B,T,C)
        pos_emb = self.position_embedding_table(torch.arange(T))  # (T,C)
        return tok_emb + pos_emb  # (B,T,C)


class BigramLanguageModel(LanguageModel):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def logits(self, idx):
        return self.token_embedding_table(idx)  # (B,T,C)


class SingleHeadLanguageModel(LanguageModel):
    """lesson 4: embeddings, one head of self-attention (head_size = n_embd), the language-model head"""

    def __init__(self, vocab_size, block_size, n_embd):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.sa_head = Head(n_embd, n_embd, block_size)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def logits(self, idx):
        return self.lm_head(self.sa_head(self.embed(idx)))


class MultiHeadLanguageModel(LanguageModel):
    """lesson 5's first steps: n_head heads of n_embd // n_head concatenated, then Linear + ReLU"""

    def __init__(self, vocab_size, block_size, n_embd, n_head):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.sa_heads = MultiHeadAttention(n_head, n_embd // n_head, n_embd, block_size, projection=False)
        self.ffwd = FeedForward(n_embd, full=False)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def logits(self, idx):
        return self.lm_head(self.ffwd(self.sa_heads(self.embed(idx))))


class GPTLanguageModel(LanguageModel):
    """gpt.py's model. attention="batched": nanoGPT's CausalSelfAttention at every block's `sa`, the library's
    GPTConfig.attention; init="pytorch": PyTorch's default initialisation instead of gpt.py's, as GPTConfig.init."""

    def __init__(self, vocab_size, block_size, n_embd, n_head, n_layer, dropout=0.0, attention="heads", init="gpt"):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout, attention) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)  # final layer norm
        self.lm_head = nn.Linear(n_embd, vocab_size)
        if init == "gpt":
            self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def logits(self, idx):
        x = self.blocks(self.embed(idx))  # (B,T,C)
        return self.lm_head(self.ln_f(x))  # (B,T,vocab_size)


# ---------------------------------------------------------------------------------------------------------------------
# Writing the fixtures

class Fixtures:
    """Collects float32 tensors into one binary blob and records where each lies."""

    def __init__(self):
        self.blob = bytearray()

    def add(self, t):
        values = t.detach().to(torch.float32).contiguous().view(-1).tolist()
        ref = {"offset": len(self.blob) // 4, "shape": list(t.shape)}
        self.blob += struct.pack(f"<{len(values)}f", *values)
        return ref


def batch(B, T, offset=0):
    """B windows of T + 1 characters of TEXT, 9 characters apart: inputs and the next-character targets."""
    data = torch.tensor([stoi[c] for c in TEXT])
    ix = [offset + 9 * b for b in range(B)]
    x = torch.stack([data[i:i + T] for i in ix])  # as gpt.py's get_batch
    y = torch.stack([data[i + 1:i + T + 1] for i in ix])
    return x, y


def perturb_layer_norms(module, seed):
    """LayerNorms start at ones and zeros; move them so that the fixtures exercise their scale and shift."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.LayerNorm):
            with torch.no_grad():
                m.weight.add_(0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.add_(0.2 * torch.randn(m.bias.shape, generator=g))


def describe(module):
    """Names and shapes of the parameters in registration order, and the state_dict entries that are not parameters."""
    params = [{"name": n, "shape": list(p.shape)} for n, p in module.named_parameters()]
    param_names = {n for n, _ in module.named_parameters()}
    buffers = [n for n in module.state_dict() if n not in param_names]
    return {
        "parameters": params,
        "num_parameters": sum(p.numel() for p in module.parameters()),
        "state_dict_buffers": buffers,
    }


def tensors_of(fx, module, what):
    return {n: fx.add(getattr(p, what) if what else p) for n, p in module.named_parameters()}


def model_case(fx, name, cls, config, B, T, adamw=False):
    torch.manual_seed(1337)
    model = cls(**config)  # float32 weights, drawn as PyTorch draws them
    if config.get("init") == "pytorch":
        perturb_layer_norms(model, 7)
    case = {"name": name, "kind": "model", "module": cls.__name__, "config": config, **describe(model)}
    case["params"] = tensors_of(fx, model, None)
    model.double().eval()
    idx, targets = batch(B, T)
    case["idx"], case["targets"] = idx.tolist(), targets.tolist()
    logits, loss = model(idx, targets)
    loss.backward()
    case["logits"], case["loss"] = fx.add(logits), fx.add(loss)
    case["grads"] = tensors_of(fx, model, "grad")
    if adamw:
        opt = torch.optim.AdamW(model.parameters())  # lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01
        case["adamw"] = {k: opt.defaults[k] for k in ("lr", "betas", "eps", "weight_decay")}
        opt.step()
        case["after_adamw"] = tensors_of(fx, model, None)
    return case


def module_case(fx, name, make, config, shape, seed):
    """A module on its own: output y for an input x, and gradients of the objective sum(y * probe)."""
    torch.manual_seed(seed)
    module = make(**config)
    perturb_layer_norms(module, seed)
    case = {"name": name, "kind": "module", "module": type(module).__name__, "config": config, **describe(module)}
    case["params"] = tensors_of(fx, module, None)
    x = torch.randn(shape)
    case["x"] = fx.add(x)
    x = x.double().requires_grad_()
    module.double().eval()
    y = module(x)
    probe = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed + 1))
    objective = (y * probe.double()).sum()
    objective.backward()
    case["probe"], case["y"], case["objective"] = fx.add(probe), fx.add(y), fx.add(objective)
    case["grads"] = tensors_of(fx, module, "grad")
    case["grad_x"] = fx.add(x.grad)
    return case


def full_size(attention):
    """gpt.py's own configuration: only names, shapes and the count."""
    torch.manual_seed(1337)
    config = dict(vocab_size=65, block_size=256, n_embd=384, n_head=6, n_layer=6, dropout=0.2, attention=attention)
    return {"name": f"gpt.py ({attention})", "module": "GPTLanguageModel", "config": config,
            **describe(GPTLanguageModel(**config))}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    fx = Fixtures()
    C, V = 16, len(CHARS)
    ctx = dict(n_embd=C, block_size=8)
    cases = [
        module_case(fx, "layer_norm", nn.LayerNorm, dict(normalized_shape=C), (2, 8, C), 11),
        module_case(fx, "head", Head, dict(**ctx, head_size=8), (2, 8, C), 12),
        module_case(fx, "multi_head_attention", MultiHeadAttention, dict(**ctx, num_heads=4, head_size=4), (2, 8, C), 13),
        module_case(fx, "feed_forward", FeedForward, dict(n_embd=C), (2, 8, C), 14),
        module_case(fx, "block", Block, dict(**ctx, n_head=4), (2, 8, C), 15),
        module_case(fx, "causal_self_attention", CausalSelfAttention, dict(**ctx, n_head=4), (2, 8, C), 16),
        model_case(fx, "bigram", BigramLanguageModel, dict(vocab_size=V), 2, 8),
        model_case(fx, "single_head", SingleHeadLanguageModel, dict(vocab_size=V, **ctx), 2, 8),
        model_case(fx, "multi_head", MultiHeadLanguageModel, dict(vocab_size=V, **ctx, n_head=4), 2, 8),
        model_case(fx, "gpt", GPTLanguageModel, dict(vocab_size=V, **ctx, n_head=4, n_layer=2), 2, 8, adamw=True),
        model_case(fx, "gpt_batched", GPTLanguageModel, dict(vocab_size=V, **ctx, n_head=2, n_layer=2, attention="batched", init="pytorch"), 2, 8),
    ]
    manifest = {
        "about": "Written by reference/pytorch_reference.py; do not edit. Tensors are float32 little-endian in parity.bin, "
                 "at offset (in floats) with shape.",
        "torch": torch.__version__.split("+")[0],
        "vocabulary": CHARS,
        "cases": cases,
        "full_size": [full_size("heads"), full_size("batched")],
    }
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / "parity.bin").write_bytes(bytes(fx.blob))
    text = json.dumps(manifest, indent=1, sort_keys=True)
    # one line for each list of numbers, and for each {offset, shape} or {name, shape}
    text = re.sub(r"\[([-0-9.e,\s]*)\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    text = re.sub(r'\{\s*("(?:name|offset)": [^,]+),\s*("shape": \[[^\]]*\])\s*\}', r"{\1, \2}", text)
    (FIXTURES / "parity.json").write_text(text + "\n")
    print(f"wrote {FIXTURES / 'parity.json'} and parity.bin ({len(fx.blob)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
