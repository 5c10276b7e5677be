#!/usr/bin/env python3
"""Writes the seed corpus seeds/fuzz_safetensors/: a few small valid safetensors files (built here
with struct + json, the layout the reference writer produces) and some near-misses."""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "fuzz_safetensors")
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def image(tensors, metadata=None, pad=True):
    header, data, off = {}, b"", 0
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        data += bytes((i * 7 + 1) % 256 if dtype != "BOOL" else i % 2 for i in range(n))
        off += n
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "empty": image([]),
        "one_f32": image([("w", "F32", [2, 2])]),
        "all_dtypes": image([(f"t_{d}", d, [2]) for d in SIZES], {"format": "pt"}),
        "scalar_and_zero": image([("s", "F64", []), ("z", "F16", [0, 3])]),
        "unpadded": image([("a", "BF16", [3]), ("b", "U8", [1])], pad=False),
        "metadata_only": image([], {"a": "b", "c": ""}),
    }
    near = bytearray(seeds["one_f32"])
    near[-1:] = b""  # truncated by one byte
    seeds["near_truncated"] = bytes(near)
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
