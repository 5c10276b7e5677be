#!/usr/bin/env python3
"""What our users would run instead, timed on the same shapes as bench/real_scale_bench:
plain PyTorch (and Hugging Face transformers where a user would use it) in Python.

Rows (one JSON object per line on stdout, same names as the C++ benchmark):
  teacher_forward/T      transformers AutoModelForCausalLM (attn_implementation="sdpa") forward
  teacher_capture4/T     the same model with output_attentions=True (eager attention, every
                         layer: transformers cannot select layers), layers 0-3 copied to the host
  decode_teacher         model.generate(greedy, 128 new tokens after a 128-token prompt, KV cache)
  mlstm_chunkwise_fwd/T, mlstm_chunkwise_fwdbwd/T   a plain PyTorch chunkwise mLSTM (the NX-AI
                         "chunkwise simple" form: float32 gates and states, L = 64)
  sdpa_fwd/T, sdpa_fwdbwd/T  torch.nn.functional.scaled_dot_product_attention, causal

Usage: python3 scripts/gpu_baselines.py --teacher DIR [--device cuda] [--dtype bf16]
       [--rows teacher,mlstm,sdpa] [--lengths 2048,8192,32768]
Needs torch; the teacher rows need transformers (skipped with a note when it is missing).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, device, reps=5):
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def emit(name, seconds, tokens):
    print(json.dumps({"name": name, "seconds": seconds, "tokens_per_s": tokens / seconds}), flush=True)


def mlstm_chunkwise(q, k, v, ig, fg, L=64, eps=1e-6):
    """Chunkwise mLSTM, float32 inside: q, k, v (B, H, T, Dh); ig, fg (B, H, T)."""
    dtype = q.dtype
    q, k, v, ig, fg = (x.float() for x in (q, k, v, ig, fg))
    B, H, T, Dh = q.shape
    assert T % L == 0, "T must be a multiple of the chunk length"
    NC = T // L
    q = (q / math.sqrt(Dh)).view(B, H, NC, L, Dh)
    k = k.view(B, H, NC, L, Dh)
    v = v.view(B, H, NC, L, Dh)
    ig = ig.view(B, H, NC, L)
    lf = F.logsigmoid(fg).view(B, H, NC, L)
    b = lf.cumsum(-1)                                     # (B, H, NC, L)
    g = b[..., -1]                                        # (B, H, NC)
    a = ig - b + g.unsqueeze(-1)                          # (B, H, NC, L)
    m_loc = a.max(-1).values                              # (B, H, NC)
    w = (a - m_loc.unsqueeze(-1)).exp().unsqueeze(-1)     # (B, H, NC, L, 1)
    kv = k.transpose(-1, -2) @ (v * w)                    # (B, H, NC, Dh, Dh)
    ks = (k * w).sum(-2)                                  # (B, H, NC, Dh)
    C = torch.zeros(B, H, Dh, Dh, device=q.device)
    n = torch.zeros(B, H, Dh, device=q.device)
    m = torch.zeros(B, H, device=q.device)
    Cs, ns, ms = [], [], []
    for c in range(NC):                                   # inter-chunk recurrence
        Cs.append(C), ns.append(n), ms.append(m)
        m_new = torch.maximum(g[..., c] + m, m_loc[..., c])
        decay = (g[..., c] + m - m_new).exp()
        scale = (m_loc[..., c] - m_new).exp()
        C = C * decay[..., None, None] + kv[:, :, c] * scale[..., None, None]
        n = n * decay[..., None] + ks[:, :, c] * scale[..., None]
        m = m_new
    C_prev = torch.stack(Cs, 2)                           # (B, H, NC, Dh, Dh)
    n_prev = torch.stack(ns, 2)                           # (B, H, NC, Dh)
    m_prev = torch.stack(ms, 2)                           # (B, H, NC)
    log_d = b.unsqueeze(-1) - b.unsqueeze(-2) + ig.unsqueeze(-2)  # (B, H, NC, L, L)
    causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
    log_d = log_d.masked_fill(~causal, float("-inf"))
    inter_log = m_prev.unsqueeze(-1) + b                  # (B, H, NC, L)
    stab = torch.maximum(log_d.max(-1).values, inter_log).unsqueeze(-1)
    q_inter = q * (inter_log.unsqueeze(-1) - stab).exp()
    E = (q @ k.transpose(-1, -2)) * (log_d - stab).exp()  # (B, H, NC, L, L)
    num = E @ v + q_inter @ C_prev                        # (B, H, NC, L, Dh)
    den = torch.maximum((E.sum(-1, keepdim=True) + q_inter @ n_prev.unsqueeze(-1)).abs(),
                        (-stab).exp()) + eps
    return (num / den).reshape(B, H, T, Dh).to(dtype)


def qkv(T, device, dtype, grad):
    g = torch.Generator(device="cpu").manual_seed(11)
    H, Dh = 8, 128
    mk = lambda *s: torch.randn(*s, generator=g).to(device, dtype).requires_grad_(grad)
    fg = (torch.randn(1, H, T, generator=g) + 3.0).to(device, dtype).requires_grad_(grad)
    return mk(1, H, T, Dh), mk(1, H, T, Dh), mk(1, H, T, Dh), mk(1, H, T), fg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32", "fp16"])
    ap.add_argument("--rows", default="teacher,mlstm,sdpa")
    ap.add_argument("--lengths", default="2048,8192,32768")
    ap.add_argument("--teacher-length", type=int, default=2048)
    a = ap.parse_args()
    device = torch.device(a.device)
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[a.dtype]
    rows = set(a.rows.split(","))
    lengths = [int(x) for x in a.lengths.split(",")]
    torch.set_grad_enabled(False)

    if "teacher" in rows and a.teacher:
        try:
            from transformers import AutoModelForCausalLM
        except ImportError:
            print("gpu_baselines: transformers missing; teacher rows skipped", file=sys.stderr)
        else:
            model = AutoModelForCausalLM.from_pretrained(a.teacher, torch_dtype=dtype,
                                                         attn_implementation="sdpa").to(device).eval()
            T = min(a.teacher_length, model.config.max_position_embeddings)
            g = torch.Generator(device="cpu").manual_seed(7)
            tok = torch.randint(0, model.config.vocab_size, (1, T), generator=g).to(device)
            emit(f"teacher_forward/{T}", timed(lambda: model(tok, use_cache=False), device), T)
            eager = AutoModelForCausalLM.from_pretrained(a.teacher, torch_dtype=dtype,
                                                         attn_implementation="eager").to(device).eval()

            def capture4():
                out = eager(tok, use_cache=False, output_attentions=True)
                for l in range(4):
                    out.attentions[l].to("cpu", torch.float16)
            emit(f"teacher_capture4/{T}", timed(capture4, device, reps=3), T)
            del eager
            prompt = tok[:, :128]
            gen = lambda: model.generate(prompt, max_new_tokens=128, min_new_tokens=128,
                                         do_sample=False, pad_token_id=0)
            emit("decode_teacher", timed(gen, device, reps=3), 128)
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()

    for T in lengths:
        if "mlstm" in rows:
            q, k, v, i, f = qkv(T, device, dtype, False)
            emit(f"mlstm_chunkwise_fwd/{T}", timed(lambda: mlstm_chunkwise(q, k, v, i, f), device), T)
            with torch.enable_grad():
                q, k, v, i, f = qkv(T, device, dtype, True)
                emit(f"mlstm_chunkwise_fwdbwd/{T}",
                     timed(lambda: mlstm_chunkwise(q, k, v, i, f).sum().backward(), device), T)
        if "sdpa" in rows and hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0
            q, k, v, _, _ = qkv(T, device, dtype, False)
            emit(f"sdpa_fwd/{T}", timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                        device), T)
            with torch.enable_grad():
                q, k, v, _, _ = qkv(T, device, dtype, True)
                emit(f"sdpa_fwdbwd/{T}",
                     timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward(),
                           device), T)


if __name__ == "__main__":
    main()
