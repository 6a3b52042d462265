"""
The PyTorch side of model exchange (test/checkpoint-pytorch.test.ts): model directories, as `npm run train -- --out
DIR` writes them, read and written by PyTorch.

    DIR/model.safetensors   gpt.py's state_dict (parameters and its `tril` mask buffers; nanoGPT's `bias` buffer for
                            batched attention), float32
    DIR/config.json         {"model": "GPTLanguageModel", "config": {...}, "gpt_py": {...}, "vocabulary": [...],
                            "files": {"model.safetensors": sha256}}

Two commands, both run with Debian's torch (apt-get install python3-torch):

    /usr/bin/python3 reference/safetensors_reference.py write
        trains gpt.py's model at a tiny size for a few AdamW steps on tiny Shakespeare's opening lines, saves it as a
        model directory in test/fixtures/pytorch-model/, and writes there logits.json: an input and PyTorch's logits
        for it, which the test compares with the library's (within 1e-5).

    /usr/bin/python3 reference/safetensors_reference.py check DIR [DIR ...]
        loads each model directory the library wrote into gpt.py's model (load_state_dict(strict=True)), and prints as
        JSON the logits of each for the input given on stdin ({"idx": [[...]]}): the test compares them with its own.

    /usr/bin/python3 reference/safetensors_reference.py convert MODEL.pt DIR [--vocab-from input.txt] [--n-head N]
        turns gpt.py's torch.save(model.state_dict(), "MODEL.pt") (trained on a GPU, say) into a model directory that
        the library loads (npm run sample -- --out DIR; loadModelDir in a notebook). The sizes are read off the tensors;
        the vocabulary is the sorted characters of the training text (default: tiny Shakespeare's 65).

It writes safetensors with the `safetensors` package when installed, else the same bytes by hand (the format is an
8-byte header length, a JSON header, the raw little-endian tensors).
"""
import hashlib
import json
import pathlib
import struct
import sys
import tempfile

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from pytorch_reference import CHARS, TEXT, GPTLanguageModel, stoi  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "pytorch-model"
CONFIG = dict(vocab_size=len(CHARS), block_size=8, n_embd=16, n_head=4, n_layer=2, dropout=0.0)


def save_safetensors(tensors, path):
    try:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})
        return
    except ImportError:
        pass
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text.encode() + b"".join(blobs))


def load_safetensors(path):
    try:
        from safetensors.torch import load_file
        return load_file(str(path))
    except ImportError:
        pass
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", f"{path}: {name} is {e['dtype']}, expected F32"
        begin, end = e["data_offsets"]
        values = struct.unpack(f"<{(end - begin) // 4}f", raw[8 + n + begin:8 + n + end])
        out[name] = torch.tensor(values, dtype=torch.float32).reshape(e["shape"])
    return out


def model_of(config):
    """gpt.py's model for a config.json's configuration."""
    c = config["config"]
    assert c.get("layerNorm", True), "this reference's GPTLanguageModel always has LayerNorm"
    return GPTLanguageModel(c["vocabSize"], c["blockSize"], c["nEmbd"], c["nHead"], c["nLayer"], c.get("dropout", 0.0),
                            attention=c.get("attention", "heads"), init=c.get("init", "gpt"))


def write_model_dir(out, state, vocabulary, n_head, note):
    """A model directory from a gpt.py state_dict: model.safetensors and config.json (sizes read off the tensors)."""
    if any(k.startswith("transformer.") for k in state):
        sys.exit("this is nanoGPT's own GPT (transformer.wte, ...), a different model that the library does not build; "
                 "see reference/README.md")
    V, C = state["token_embedding_table.weight"].shape
    T = state["position_embedding_table.weight"].shape[0]
    if V != len(vocabulary):
        sys.exit(f"the model has a vocabulary of {V} tokens but {len(vocabulary)} characters were given: "
                 "pass the text it was trained on (--vocab-from)")
    n_layer = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    batched = "blocks.0.sa.c_attn.weight" in state
    if not batched:
        n_head = len({k.split(".")[4] for k in state if k.startswith("blocks.0.sa.heads.")})
    elif n_head is None:
        sys.exit("batched attention (c_attn) does not show the number of heads: give --n-head N")
    out.mkdir(parents=True, exist_ok=True)
    save_safetensors({k: v.float() for k, v in state.items()}, out / "model.safetensors")
    config = {
        "format": "build-gpt-ts model directory 1",
        "model": "GPTLanguageModel",
        "config": {"vocabSize": V, "blockSize": T, "nEmbd": C, "nHead": n_head, "nLayer": n_layer, "dropout": 0.0,
                   "layerNorm": True, "attention": "batched" if batched else "heads", "init": "gpt"},
        "gpt_py": {"vocab_size": V, "block_size": T, "n_embd": C, "n_head": n_head, "n_layer": n_layer, "dropout": 0.0,
                   "attention": "batched" if batched else "heads"},
        "vocabulary": list(vocabulary),
        "files": {"model.safetensors": hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()},
        "written_by": note,
    }
    (out / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    return config


def convert(pt_path, out, vocab_from=None, n_head=None):
    """gpt.py's torch.save(model.state_dict(), PATH) as a model directory; the vocabulary from the training text."""
    state = torch.load(pt_path, map_location="cpu")
    vocabulary = sorted(set(pathlib.Path(vocab_from).read_text(encoding="utf-8"))) if vocab_from else list(CHARS)
    write_model_dir(pathlib.Path(out), state, vocabulary, n_head, f"reference/safetensors_reference.py convert {pt_path}")
    print(f"wrote {out}")


def write():
    torch.manual_seed(1337)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    c = CONFIG
    model = GPTLanguageModel(c["vocab_size"], c["block_size"], c["n_embd"], c["n_head"], c["n_layer"], c["dropout"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    data = torch.tensor([stoi[ch] for ch in TEXT])
    T = c["block_size"]
    for step in range(5):
        ix = torch.randint(len(data) - T, (4,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    # as gpt.py users save a model, then converted: the path a state_dict from a GPU run takes
    with tempfile.TemporaryDirectory() as tmp:
        pt = pathlib.Path(tmp) / "model.pt"
        torch.save(model.state_dict(), pt)
        state = torch.load(pt, map_location="cpu")
    write_model_dir(OUT, state, CHARS, None,
                    f"reference/safetensors_reference.py write, torch {torch.__version__}, after 5 AdamW steps (loss {loss.item():.4f})")
    idx = torch.tensor([[stoi[ch] for ch in TEXT[:T]], [stoi[ch] for ch in TEXT[10:10 + T]]])
    with torch.no_grad():
        logits, _ = model(idx)
    (OUT / "logits.json").write_text(json.dumps({"idx": idx.tolist(), "logits": logits.tolist()}) + "\n")
    print(f"wrote {OUT}: {sum(p.numel() for p in model.parameters())} parameters, final loss {loss.item():.4f}")


def check(directories):
    idx = torch.tensor(json.loads(sys.stdin.read())["idx"])
    out = []
    for directory in directories:
        d = pathlib.Path(directory)
        config = json.loads((d / "config.json").read_text())
        model = model_of(config)
        state = load_safetensors(d / "model.safetensors")
        model.load_state_dict(state, strict=True)  # every parameter and buffer, no extra: the names are gpt.py's
        model.eval()
        with torch.no_grad():
            logits, _ = model(idx)
        out.append(logits.tolist())
    print(json.dumps({"logits": out, "torch": torch.__version__}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write()
    elif sys.argv[1:2] == ["check"] and len(sys.argv) >= 3:
        check(sys.argv[2:])
    elif sys.argv[1:2] == ["convert"] and len(sys.argv) >= 4:
        opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
        convert(sys.argv[2], sys.argv[3], opts.get("--vocab-from"), int(opts["--n-head"]) if "--n-head" in opts else None)
    else:
        sys.exit("usage: safetensors_reference.py write | check DIR [DIR ...] | convert MODEL.pt DIR [--vocab-from TEXT] [--n-head N]")
