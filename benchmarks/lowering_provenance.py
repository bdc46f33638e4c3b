"""Lowering wall time with torch.fx's deep-copied provenance vs shared provenance, interleaved.

    .venv/bin/python benchmarks/lowering_provenance.py [--repeats 3]

Prints each run and the median ratio (deep-copy / shared); also checks both give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
import warnings
from contextlib import AbstractContextManager, nullcontext

import torch

from star_search.lower.export import _export
from star_search.lower.programs import ProgramShapes
from star_search.lower.provenance import shared_provenance
from star_search.model import build_model
from star_search.spec import ArchSpec, LayerSpec


def lower_seconds(spec: ArchSpec, context: AbstractContextManager[None]) -> tuple[float, str]:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    model = build_model(spec)
    with torch.no_grad():
        exported = _export(model, ProgramShapes(prompt_len=64, max_seq_len=96), None)
        start = time.perf_counter()
        with context:
            program = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
            buffer = program.to_executorch().buffer
    return time.perf_counter() - start, hashlib.sha256(buffer).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    layers = tuple(LayerSpec(kind) for kind in ("attention", "conv", "ssm", "linear_attention"))
    spec = ArchSpec(d_model=192, layers=layers, n_heads=6, n_kv_heads=2, head_dim=32, ffn_dim=576,
                    vocab_size=4096)
    deep, shared = [], []
    for repeat in range(args.repeats):
        deep_s, deep_hash = lower_seconds(spec, nullcontext())
        shared_s, shared_hash = lower_seconds(spec, shared_provenance())
        assert deep_hash == shared_hash, "provenance sharing changed the program"
        deep.append(deep_s)
        shared.append(shared_s)
        print(f"repeat {repeat}: deep-copied {deep_s:.1f} s, shared {shared_s:.1f} s")
    deep_s, shared_s = statistics.median(deep), statistics.median(shared)
    print(f"median lowering: deep-copied {deep_s:.1f} s, shared {shared_s:.1f} s, "
          f"ratio {deep_s / shared_s:.2f}x (identical .pte bytes)")


if __name__ == "__main__":
    main()
