#!/usr/bin/env python3
"""Write a random-weight Hugging Face checkpoint directory of a real model's shape.

Benchmarks and tests need real-size teachers (hundreds of MB to GB) without downloading or
committing them. This writes config.json exactly as Hugging Face ships it for the named model,
the weights (random normal, std 0.02; norms 1, biases 0) as model.safetensors or as
model-0000K-of-0000N.safetensors + model.safetensors.index.json, and optionally a byte-level BPE
tokenizer.json (256 byte tokens, no merges, the model's special tokens).

Tensors are generated and written in chunks, so memory stays at a few tens of MB whatever the
model size. Needs numpy only.

  python3 scripts/make_random_model.py --shape qwen2.5-0.5b --dtype bf16 --shards 2 \
      --tokenizer --out /tmp/qwen-shape
"""
import argparse
import json
import os
import sys

import numpy as np

CHUNK = 1 << 22  # elements generated per step (16 MB of float32)

QWEN25_05B = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "hidden_act": "silu",
    "hidden_size": 896,
    "initializer_range": 0.02,
    "intermediate_size": 4864,
    "max_position_embeddings": 32768,
    "max_window_layers": 24,
    "model_type": "qwen2",
    "num_attention_heads": 14,
    "num_hidden_layers": 24,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.1",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

LLAMA32_1B = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "head_dim": 64,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 8192,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 32.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.45.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}

GPT2_SMALL = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1,
    "bos_token_id": 50256,
    "embd_pdrop": 0.1,
    "eos_token_id": 50256,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 1024,
    "n_embd": 768,
    "n_head": 12,
    "n_layer": 12,
    "n_positions": 1024,
    "resid_pdrop": 0.1,
    "summary_activation": None,
    "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True,
    "summary_type": "cls_index",
    "summary_use_proj": True,
    "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
    "vocab_size": 50257,
}

# A small Qwen2-style model with every feature of the big one (GQA, qkv bias, tied head) for
# quick tests; its vocabulary is above 32k (the large-vocabulary defaults apply) and differs from
# the byte tokenizer's, so vocabulary checks have something to say.
TINY = dict(
    QWEN25_05B,
    hidden_size=64,
    intermediate_size=128,
    max_position_embeddings=512,
    max_window_layers=2,
    num_attention_heads=4,
    num_hidden_layers=2,
    num_key_value_heads=2,
    sliding_window=512,
    vocab_size=40000,
    bos_token_id=39990,
    eos_token_id=39990,
)

# Qwen2.5-0.5B's layout (24 layers x 14 query heads, 2 KV heads, 40k vocabulary) at a width of
# 224: what the studio and the CLI show for a real teacher, generated and run in seconds.
QWEN_LAYOUT = dict(
    QWEN25_05B,
    hidden_size=224,
    intermediate_size=448,
    max_position_embeddings=2048,
    sliding_window=2048,
    vocab_size=40000,
    bos_token_id=39990,
    eos_token_id=39990,
)

SHAPES = {
    "qwen2.5-0.5b": QWEN25_05B,
    "qwen-layout": QWEN_LAYOUT,
    "llama-3.2-1b": LLAMA32_1B,
    "gpt2-small": GPT2_SMALL,
    "tiny": TINY,
}

SPECIAL_TOKENS = {
    "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama": ["<|begin_of_text|>", "<|end_of_text|>"],
    "gpt2": ["<|endoftext|>"],
}


def llama_tensors(cfg):
    """(name, shape, kind) in Hugging Face LlamaForCausalLM / Qwen2ForCausalLM order."""
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", h // nh)
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    out = [("model.embed_tokens.weight", (v, h), "w")]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out.append((p + "input_layernorm.weight", (h,), "one"))
        for proj, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
            out.append((p + f"self_attn.{proj}_proj.weight", (rows, h), "w"))
            if qkv_bias:
                out.append((p + f"self_attn.{proj}_proj.bias", (rows,), "w"))
        out.append((p + "self_attn.o_proj.weight", (h, nh * hd), "w"))
        out.append((p + "post_attention_layernorm.weight", (h,), "one"))
        out.append((p + "mlp.gate_proj.weight", (i, h), "w"))
        out.append((p + "mlp.up_proj.weight", (i, h), "w"))
        out.append((p + "mlp.down_proj.weight", (h, i), "w"))
    out.append(("model.norm.weight", (h,), "one"))
    if not cfg.get("tie_word_embeddings", False):
        out.append(("lm_head.weight", (v, h), "w"))
    return out


def gpt2_tensors(cfg):
    """(name, shape, kind) as in Hugging Face's gpt2 model.safetensors (no 'transformer.')."""
    d, v, npos = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    inner = cfg.get("n_inner") or 4 * d
    out = [("wte.weight", (v, d), "w"), ("wpe.weight", (npos, d), "w")]
    for n in range(cfg["n_layer"]):
        p = f"h.{n}."
        out += [
            (p + "ln_1.weight", (d,), "one"),
            (p + "ln_1.bias", (d,), "zero"),
            (p + "attn.c_attn.weight", (d, 3 * d), "w"),
            (p + "attn.c_attn.bias", (3 * d,), "zero"),
            (p + "attn.c_proj.weight", (d, d), "w"),
            (p + "attn.c_proj.bias", (d,), "zero"),
            (p + "ln_2.weight", (d,), "one"),
            (p + "ln_2.bias", (d,), "zero"),
            (p + "mlp.c_fc.weight", (d, inner), "w"),
            (p + "mlp.c_fc.bias", (inner,), "zero"),
            (p + "mlp.c_proj.weight", (inner, d), "w"),
            (p + "mlp.c_proj.bias", (d,), "zero"),
        ]
    out += [("ln_f.weight", (d,), "one"), ("ln_f.bias", (d,), "zero")]
    return out


def to_bf16(x):
    """float32 -> bfloat16 bits (round to nearest even), as uint16."""
    u = x.view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_chunks(f, shape, kind, dtype, rng):
    """Generates and writes one tensor CHUNK elements at a time."""
    numel = int(np.prod(shape, dtype=np.int64))
    done = 0
    while done < numel:
        n = min(CHUNK, numel - done)
        if kind == "w":
            x = rng.standard_normal(n, dtype=np.float32)
            x *= np.float32(0.02)
        elif kind == "one":
            x = np.ones(n, dtype=np.float32)
        else:
            x = np.zeros(n, dtype=np.float32)
        f.write((to_bf16(x) if dtype == "BF16" else x).tobytes())  # little-endian hosts only
        done += n


def write_safetensors(path, tensors, dtype, rng):
    """Header first (all sizes are known), then the data streamed tensor by tensor."""
    itemsize = 2 if dtype == "BF16" else 4
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, _ in tensors:
        nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)  # data buffer starts 8-byte aligned
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(len(blob).to_bytes(8, "little"))
        f.write(blob)
        for _, shape, kind in tensors:
            write_chunks(f, shape, kind, dtype, rng)
    os.replace(tmp, path)
    return offset


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (as in tokenizers' ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write_tokenizer(path, cfg):
    """A byte-level BPE tokenizer.json: ids 0..255 are bytes, specials at the model's ids."""
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    specials = SPECIAL_TOKENS[cfg["model_type"]]
    first = cfg.get("eos_token_id", cfg["vocab_size"] - len(specials))
    if isinstance(first, list):
        first = first[0]
    first = min(first, cfg["vocab_size"] - len(specials))
    added = [
        {"id": first + k, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for k, s in enumerate(specials)
    ]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": []},
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)


def split_shards(tensors, n, itemsize):
    """Consecutive groups of roughly equal bytes (a tensor is never split)."""
    sizes = [int(np.prod(s, dtype=np.int64)) * itemsize for _, s, _ in tensors]
    target = sum(sizes) / n
    shards, cur, acc = [], [], 0
    for t, sz in zip(tensors, sizes):
        if cur and acc + sz / 2 > target * (len(shards) + 1) and len(shards) < n - 1:
            shards.append(cur)
            cur = []
        cur.append(t)
        acc += sz
    shards.append(cur)
    return shards


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--tokenizer", action="store_true", help="also write a byte-level tokenizer.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.shards < 1:
        sys.exit("make_random_model.py: --shards must be >= 1")

    cfg = dict(SHAPES[a.shape])
    cfg["torch_dtype"] = "bfloat16" if a.dtype == "bf16" else "float32"
    dtype = "BF16" if a.dtype == "bf16" else "F32"
    itemsize = 2 if dtype == "BF16" else 4
    tensors = gpt2_tensors(cfg) if cfg["model_type"] == "gpt2" else llama_tensors(cfg)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    rng = np.random.default_rng(a.seed)
    written = []
    if a.shards == 1:
        total = write_safetensors(os.path.join(a.out, "model.safetensors"), tensors, dtype, rng)
        written.append("model.safetensors")
    else:
        shards = split_shards(tensors, a.shards, itemsize)
        weight_map, total = {}, 0
        for k, group in enumerate(shards):
            name = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
            total += write_safetensors(os.path.join(a.out, name), group, dtype, rng)
            weight_map.update({t[0]: name for t in group})
            written.append(name)
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
            f.write("\n")
        written.append("model.safetensors.index.json")
    if a.tokenizer:
        write_tokenizer(os.path.join(a.out, "tokenizer.json"), cfg)
        written.append("tokenizer.json")
    params = sum(int(np.prod(s, dtype=np.int64)) for _, s, _ in tensors)
    print(f"make_random_model.py: wrote {a.out}/ (config.json, {', '.join(written)}): "
          f"{a.shape}, {params / 1e6:.2f} M parameters, {dtype}, {total / 1e9:.3f} GB")


if __name__ == "__main__":
    main()
