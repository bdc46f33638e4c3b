"""Child process that times one .pte: `python -m star_search.profiler.runner PTE [options]`.

It needs nothing but the program: input shapes and dtypes come from the methods' metadata, the
state starts as zeros, the prompt is a fixed token sequence. Per repeat it times (perf_counter_ns,
wall clock) one `prefill` call — the time to first token — then `decode_steps` `decode` calls,
each fed the argmax token and the state returned by the previous call. Warm-up sequences run the
same loop untimed. Timed sequences go on from `--repeats` up to `--max-repeats` until the CVs fall
to `--cv-target` (`protocol.repeats_done`). With `--etdump`, an untimed traced sequence follows
and per-operator times are added (`operator_times`). Every figure is measured.

The child asks the kernel to kill it when its parent dies, so an agent that is stopped mid-job
leaves no program running. The CPU affinity is pinned first, before torch and ExecuTorch are
imported, so that their thread pools are sized inside the pinned set; then ExecuTorch's own
thread pool (XNNPACK runs on it) is reset to `--threads`. The result is one line on stdout,
`RESULT_MARKER` followed by JSON; on failure the JSON holds `error` and the exit status is 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any

from star_search.child_process import die_with_parent
from star_search.profiler.measurement import coefficient_of_variation, decode_repeat_cv
from star_search.profiler.protocol import RESULT_MARKER, MeasurementProtocol, repeats_done

# ExecuTorch ScalarType codes (same numbering as c10::ScalarType) → torch dtype names.
_SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16",
                 6: "float32", 7: "float64", 11: "bool", 15: "bfloat16"}


class RunnerError(Exception):
    """The program cannot be timed as asked; the message says why."""


def _peak_rss_bytes() -> int:
    """Peak RSS of this process image since exec, in bytes (VmHWM of /proc/self/status).

    Not `ru_maxrss`: Linux carries the maximum over into a process across execve, so a child
    spawned by a large parent (one that just lowered a model) would report the parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    raise RunnerError("/proc/self/status has no VmHWM line")


def _ru_maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # ru_maxrss is KiB on Linux


def _set_threads(threads: int) -> dict[str, Any]:
    """Size torch's and ExecuTorch's thread pools; report what each says it now uses."""
    import torch

    from star_search.profiler.light_runtime import import_runtime_without_compiler

    import_runtime_without_compiler()
    from executorch.extension.pybindings import portable_lib

    torch.set_num_threads(threads)
    report: dict[str, Any] = {"torch_threads": torch.get_num_threads()}
    reset = getattr(portable_lib, "_unsafe_reset_threadpool", None)
    count = getattr(portable_lib, "_threadpool_get_thread_count", None)
    if reset is None or count is None:
        report["executorch_threads"] = None  # this build cannot size its pool from Python
        return report
    reset(threads)
    report["executorch_threads"] = int(count())
    if report["executorch_threads"] != threads:
        raise RunnerError(f"ExecuTorch thread pool has {report['executorch_threads']} threads "
                          f"after asking for {threads}")
    return report


def _zeros(meta: Any, index: int) -> Any:
    import torch

    info = meta.input_tensor_meta(index)
    dtype_name = _SCALAR_TYPES.get(int(info.dtype()))
    if dtype_name is None:
        raise RunnerError(f"input {index} of '{meta.name()}' has unsupported dtype code {info.dtype()}")
    return torch.zeros(tuple(info.sizes()), dtype=getattr(torch, dtype_name))


def _check_header(pte_path: str) -> None:
    """Refuse a file that is not an ExecuTorch flatbuffer before the runtime aborts on it."""
    with open(pte_path, "rb") as handle:
        header = handle.read(8)
    if len(header) < 8 or header[4:6] != b"ET":
        raise RunnerError(f"{pte_path} is not an ExecuTorch program (file identifier "
                          f"{header[4:8]!r}, expected b'ET..')")


def evict_from_page_cache(pte_path: str) -> str:
    """Drop the program's clean pages from the kernel's page cache, so that every child loads it
    from storage rather than from pages an earlier process left behind: on the development VM a
    350M .pte whose pages had stayed cached decoded up to 1.5x faster than the same file read
    afresh (BENCHMARKS.md, "The shipping-size search", 2026-12-06 third part), a state that no
    architecture controls. Returns what was done, for the child's result line: "evicted", or "as found" where
    the OS has no posix_fadvise (macOS). Pages another process has mapped stay."""
    if not hasattr(os, "posix_fadvise"):
        return "as found"
    fd = os.open(pte_path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return "evicted"


def _constant(program: Any, name: str) -> int | None:
    if name not in program.method_names:
        return None
    return int(program.load_method(name).execute([])[0])


def run(pte_path: str, protocol: MeasurementProtocol) -> dict[str, Any]:
    """Load, check, warm up and time the program; returns samples in milliseconds."""
    prompt_len, decode_steps = protocol.prompt_len, protocol.decode_steps
    _check_header(pte_path)
    thread_report = _set_threads(protocol.threads)
    import torch
    from executorch.runtime import Runtime

    baseline_rss = _peak_rss_bytes()
    page_cache = evict_from_page_cache(pte_path)
    program = Runtime.get().load_program(pte_path)
    if _constant(program, "get_llm_ops"):  # attention on ExecuTorch's LLM custom ops
        from star_search.profiler.light_runtime import load_llm_ops_kernels

        load_llm_ops_kernels()
    missing = {"prefill", "decode"} - program.method_names
    if missing:
        raise RunnerError(f"program lacks method(s) {sorted(missing)}; has {sorted(program.method_names)}")
    prefill, decode = program.load_method("prefill"), program.load_method("decode")
    prefill_meta, decode_meta = prefill.metadata, decode.metadata

    lowered_prompt = tuple(prefill_meta.input_tensor_meta(0).sizes())
    if _constant(program, "get_dynamic_prompt"):  # prefill takes 2..lowered length tokens
        if len(lowered_prompt) != 2 or not 2 <= prompt_len <= lowered_prompt[1]:
            raise RunnerError(f"protocol prompt_len={prompt_len} but the program's prefill takes "
                              f"2 to {lowered_prompt[-1]} tokens")
    elif lowered_prompt != (1, prompt_len):
        raise RunnerError(f"protocol prompt_len={prompt_len} but the program's prefill takes "
                          f"tokens of shape {list(lowered_prompt)}")
    max_seq_len = _constant(program, "get_max_seq_len")
    if max_seq_len is not None and prompt_len + decode_steps > max_seq_len:
        raise RunnerError(f"prompt_len + decode_steps = {prompt_len + decode_steps} exceeds the "
                          f"program's max_seq_len={max_seq_len}")
    n_state = prefill_meta.num_inputs() - 1
    if decode_meta.num_inputs() - 2 != n_state:
        raise RunnerError(f"prefill takes {n_state} state tensors, decode "
                          f"{decode_meta.num_inputs() - 2}")
    vocab = int(prefill_meta.output_tensor_meta(0).sizes()[-1])
    prompt = ((torch.arange(prompt_len, dtype=torch.int64) * 7919 + 1) % vocab).reshape(1, prompt_len)
    zero_state = [_zeros(prefill_meta, 1 + i) for i in range(n_state)]

    def sequence(prefill: Any, decode: Any) -> tuple[float, list[float]]:
        state = [t.clone() for t in zero_state]
        start = time.perf_counter_ns()
        outputs = prefill.execute([prompt, *state])
        ttft_ms = (time.perf_counter_ns() - start) / 1e6
        step_ms = []
        for step in range(decode_steps):
            token = outputs[0].argmax(dim=-1).reshape(1, 1).to(torch.int64)
            pos = torch.tensor([prompt_len + step], dtype=torch.int64)
            inputs = [token, pos, *outputs[1:]]
            start = time.perf_counter_ns()
            outputs = decode.execute(inputs)
            step_ms.append((time.perf_counter_ns() - start) / 1e6)
        return ttft_ms, step_ms

    for _ in range(protocol.warmup):
        sequence(prefill, decode)
    ttft_samples: list[float] = []
    decode_samples: list[float] = []
    gc.collect()
    gc.disable()  # a collection inside a timed call would be charged to the program
    try:
        while True:
            ttft_ms, step_ms = sequence(prefill, decode)
            ttft_samples.append(ttft_ms)
            decode_samples.extend(step_ms)
            done, stop_reason = repeats_done(coefficient_of_variation(ttft_samples),
                                             decode_repeat_cv(decode_samples, decode_steps),
                                             len(ttft_samples), protocol)
            if done:
                break
    finally:
        gc.enable()
    result = {"ttft_samples_ms": ttft_samples, "decode_samples_ms": decode_samples,
              "repeats": len(ttft_samples), "stop_reason": stop_reason,
              "baseline_rss_bytes": baseline_rss, "peak_rss_bytes": _peak_rss_bytes(),
              "ru_maxrss_bytes": _ru_maxrss_bytes(), "page_cache": page_cache,
              "affinity": sorted(os.sched_getaffinity(0)), "max_seq_len": max_seq_len,
              "os_threads": len(os.listdir("/proc/self/task")), **thread_report}
    if protocol.etdump:  # after the peak RSS is read: the Inspector's imports are not the program's
        from star_search.profiler.operator_times import etdump_operator_times

        result["operator_times"] = etdump_operator_times(
            lambda enable: Runtime.get().load_program(pte_path, enable_etdump=enable),
            sequence, decode_steps)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pte_path")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--cores", required=True, help="comma-separated CPU ids to pin to")
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    parser.add_argument("--max-repeats", type=int, required=True)
    parser.add_argument("--cv-target", type=float, required=True)
    parser.add_argument("--prompt-len", type=int, required=True)
    parser.add_argument("--decode-steps", type=int, required=True)
    parser.add_argument("--etdump", action="store_true", help="add per-operator times (ETDump)")
    parser.add_argument("--parent-pid", type=int, help="exit at once if no longer this process's child")
    args = parser.parse_args(argv)
    try:
        die_with_parent(args.parent_pid, signal.SIGKILL, orphan_exit=3)  # nobody waits for an orphan
        os.sched_setaffinity(0, {int(core) for core in args.cores.split(",")})
        protocol = MeasurementProtocol(
            threads=args.threads, warmup=args.warmup, repeats=args.repeats,
            max_repeats=args.max_repeats, cv_target=args.cv_target, prompt_len=args.prompt_len,
            decode_steps=args.decode_steps, etdump=args.etdump)
        result = run(args.pte_path, protocol)
        status = 0
    except Exception as err:
        result = {"error": f"{type(err).__name__}: {err}",
                  "traceback": traceback.format_exc(limit=4)[-2000:]}
        status = 2
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
