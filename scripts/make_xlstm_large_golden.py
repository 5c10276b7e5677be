#!/usr/bin/env python3
"""Golden vectors for the xlstm_large student (tests/data/golden_xlarge/).

Source: the UNMODIFIED reference code of
  NX-AI/xlstm          commit 032a6fb8ee19a8c0db80ae6111ff4744a09414a9
                       xlstm/xlstm_large/{model,components,utils,generate}.py
  NX-AI/mlstm_kernels  commit 39d3c61741e5d2c0e6ab8922106dd236632c5139
                       mlstm_kernels/torch/{backend_module,kernel_wrappers}.py,
                       chunkwise/native/fw.py, recurrent/native_step.py, native_sequence.py
exported with `git archive HEAD xlstm` / `git archive HEAD mlstm_kernels` into folders given on the
command line (third-party code is never copied into this repository).

Run with Debian's python3 + python3-torch 1.13 (CPU):
  python3 scripts/make_xlstm_large_golden.py --xlstm SRC_XLSTM --mlstm-kernels SRC_KERNELS \
      --out tests/data/golden_xlarge

The reference targets torch >= 2.4 with Triton; to import it on torch 1.13 without Triton this
script installs compatibility shims (ours, written to a temp folder, NOT edits of the reference):
  * `triton`, `triton.language`: permissive placeholders. mlstm_kernels imports its Triton kernels
    at package import; they are never called (only the native PyTorch kernels are used).
  * `einops.rearrange`: reshape-only implementation (the native kernels only group/ungroup axes).
  * torch.amp.custom_fwd / custom_bwd, torch.compile: identity decorators (forward only,
    no autocast); torch.no_grad usable as a bare decorator (generate.py).
Kernels: chunkwise "chunkwise--native_autograd" (chunk 16), sequence "native_sequence__native",
step "native". return_last_states=True is required: with False, mLSTMLayer.forward unpacks the
bare h tensor as `h, state` (reference bug, irrelevant to the maths).
"""
import argparse
import dataclasses
import json
import os
import struct
import sys
import tempfile

EINOPS_SHIM = r'''
# einops shim (dxl golden generator): reshape-only rearrange; no permutations.
import math

def _parse(side):
    out, i, toks = [], 0, side.split()
    while i < len(toks):
        t = toks[i]
        if t.startswith("("):
            grp = [t[1:]]
            while not toks[i].endswith(")"):
                i += 1
                grp.append(toks[i])
            grp[-1] = grp[-1][:-1]
            out.append([g for g in grp if g])
        else:
            out.append([t])
        i += 1
    return out

def rearrange(x, pattern, **sizes):
    lhs, rhs = [s.strip() for s in pattern.split("->")]
    L, R = _parse(lhs), _parse(rhs)
    if [a for g in L for a in g if a != "1"] != [a for g in R for a in g if a != "1"]:
        raise NotImplementedError("einops shim: permutation not supported: " + pattern)
    assert len(L) == x.dim(), (pattern, x.shape)
    dims = dict(sizes)
    for g, n in zip(L, x.shape):
        unknown = [a for a in g if a not in dims and a != "1"]
        prod = math.prod(dims[a] for a in g if a in dims)
        if len(unknown) == 1:
            dims[unknown[0]] = n // prod
        elif len(unknown) > 1:
            raise ValueError("einops shim: underdetermined " + pattern)
    return x.reshape([math.prod(dims[a] if a != "1" else 1 for a in g) for g in R])
'''

TRITON_SHIM = r'''
# triton shim (dxl golden generator): placeholders so Triton kernel modules import; never called.
class _Any:
    def __init__(self, *a, **k): pass
    def __call__(self, *a, **k):
        if len(a) == 1 and callable(a[0]) and not k: return a[0]
        return _Any()
    def __getattr__(self, name): return _Any()
    def __getitem__(self, k): return _Any()
    def __mro_entries__(self, bases): return (object,)
    def __bool__(self): return False
    def __iter__(self): return iter(())
    def __index__(self): return 0
for _op in ("mul", "rmul", "add", "radd", "sub", "rsub", "truediv", "floordiv", "mod", "pow",
            "lt", "le", "gt", "ge", "and", "or", "neg"):
    setattr(_Any, "__%s__" % _op, lambda self, *a: _Any())
def __getattr__(name): return _Any()
'''


def install_shims(xlstm_src, kernels_src):
    shim_dir = tempfile.mkdtemp(prefix="dxl_xlarge_shims_")
    os.makedirs(os.path.join(shim_dir, "triton", "language"))
    with open(os.path.join(shim_dir, "einops.py"), "w") as f:
        f.write(EINOPS_SHIM)
    for sub in ("triton", os.path.join("triton", "language")):
        with open(os.path.join(shim_dir, sub, "__init__.py"), "w") as f:
            f.write(TRITON_SHIM)
    sys.path[:0] = [shim_dir, xlstm_src, kernels_src]
    import torch
    import torch.amp

    def ident(fn=None, **kw):
        return fn if fn is not None else (lambda f: f)

    for name in ("custom_fwd", "custom_bwd"):
        if not hasattr(torch.amp, name):
            setattr(torch.amp, name, ident)
    if not hasattr(torch, "compile"):
        torch.compile = ident
    ng = torch.no_grad
    torch.no_grad = lambda fn=None: ng()(fn) if fn is not None else ng()
    return ng


def save_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer (F32 / F64 / I64), tensors in the given order."""
    import numpy as np
    codes = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors:
        a = np.ascontiguousarray(t.detach().cpu().numpy())
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


CASES = [
    # name, seed, config overrides
    ("xlarge_seed2800", 2800, dict(embedding_dim=64, num_heads=4, num_blocks=2, vocab_size=97)),
    ("xlarge_fused_seed2810", 2810,
     dict(embedding_dim=64, num_heads=2, num_blocks=2, vocab_size=97, use_bias=True,
          add_out_norm=False, qk_dim_factor=0.25, v_dim_factor=0.5, gate_soft_cap=3.0,
          output_logit_soft_cap=2.0, weight_mode="fused")),
]
B, S, PREFILL, CHUNK = 2, 32, 21, 16


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xlstm", required=True, help="exported NX-AI/xlstm source tree")
    ap.add_argument("--mlstm-kernels", required=True, help="exported NX-AI/mlstm_kernels tree")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    real_no_grad = install_shims(os.path.abspath(args.xlstm), os.path.abspath(args.mlstm_kernels))
    import torch
    from xlstm.xlstm_large.model import xLSTMLarge, xLSTMLargeConfig

    os.makedirs(args.out, exist_ok=True)
    summary = {}
    for name, seed, over in CASES:
        def make(mode, dtype=torch.float32, force32=True):
            cfg = xLSTMLargeConfig(
                **over, chunkwise_kernel="chunkwise--native_autograd",
                sequence_kernel="native_sequence__native", step_kernel="native", mode=mode,
                chunk_size=CHUNK, return_last_states=True, autocast_kernel_dtype="float32",
                inference_state_dtype="float32" if dtype == torch.float32 else "float64",
                norm_reduction_force_float32=force32)
            return cfg

        cfg = make("train")
        torch.manual_seed(seed)
        model = xLSTMLarge(cfg)
        gen = torch.Generator().manual_seed(seed + 1)
        with real_no_grad():
            for _, p in model.named_parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
        model.eval()
        torch.manual_seed(seed + 2)
        tokens = torch.randint(0, cfg.vocab_size, (B, S))
        sd = model.state_dict()

        acts = {}
        hooks = [model.backbone.blocks[i].register_forward_hook(
            lambda m, inp, out, i=i: acts.__setitem__("hidden_%d" % i, out[0]))
            for i in range(cfg.num_blocks)]
        with real_no_grad():
            logits, _ = model(tokens)
        for h in hooks:
            h.remove()

        inf = xLSTMLarge(make("inference")).eval()
        inf.load_state_dict(sd)
        with real_no_grad():
            state, steps = None, []
            for t in range(S):
                lt, state = inf(tokens[:, t:t + 1], state)
                steps.append(lt)
            logits_step = torch.cat(steps, 1)
            lp, state = inf(tokens[:, :PREFILL], None)
            parts = [lp]
            for t in range(PREFILL, S):
                lt, state = inf(tokens[:, t:t + 1], state)
                parts.append(lt)
            logits_prefill = torch.cat(parts, 1)

        m64 = xLSTMLarge(make("train", torch.float64, force32=False)).double().eval()
        m64.load_state_dict({k: v.double() for k, v in sd.items()})
        with real_no_grad():
            logits64, _ = m64(tokens)

        dev = {
            "f32_vs_f64": (logits.double() - logits64).abs().max().item(),
            "step_vs_train": (logits_step - logits).abs().max().item(),
            "prefill_step_vs_train": (logits_prefill - logits).abs().max().item(),
        }
        summary[name] = dev
        case_dir = os.path.join(args.out, name)
        os.makedirs(case_dir, exist_ok=True)
        cfg_json = {k: v for k, v in dataclasses.asdict(cfg).items()}
        cfg_json["model_type"] = "xlstm_large"
        with open(os.path.join(case_dir, "config.json"), "w") as f:
            json.dump(cfg_json, f, indent=2, sort_keys=True)
            f.write("\n")
        save_safetensors(os.path.join(case_dir, "model.safetensors"), list(sd.items()))
        save_safetensors(
            os.path.join(args.out, name + "_io.safetensors"),
            [("tokens", tokens), ("logits", logits), ("logits_step", logits_step),
             ("logits_prefill%d_step" % PREFILL, logits_prefill), ("logits_f64", logits64)] +
            sorted(acts.items()),
            metadata={"seed": seed, "generator_torch": torch.__version__,
                      **{"dev_" + k: "%.3e" % v for k, v in dev.items()}})
        print(name, {k: "%.3e" % v for k, v in dev.items()})
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
