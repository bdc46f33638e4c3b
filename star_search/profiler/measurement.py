"""Measurement: one latency and memory figure for one program on one device, with every sample.

Times are milliseconds of wall clock, memory is bytes. `source` says whether the figure was
measured on a device ("measured") or estimated from latency tables ("predicted"); a predicted
figure has empty sample lists.

A record carries what identifies it (backend, device id, program sha256, threads, shapes, the
protocol's counts) so that it can be cached, compared and reported on its own.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from star_search.errors import SpecError
from star_search.profiler.protocol import split_repeats

SOURCES: tuple[str, ...] = ("measured", "predicted")
# The program file's page-cache state when the measuring process loaded it (see `Measurement`).
PAGE_CACHE_STATES: tuple[str, ...] = ("evicted", "as found", "mixed")


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100] (numpy's default method); NaN when empty."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def coefficient_of_variation(samples: Sequence[float]) -> float:
    """Sample standard deviation over mean (dimensionless); 0 for fewer than two samples."""
    if len(samples) < 2:
        return 0.0
    mean = statistics.fmean(samples)
    return statistics.stdev(samples) / mean if mean > 0 else math.nan


def decode_repeat_cv(decode_samples_ms: Sequence[float], decode_steps: int) -> float:
    """CV of the per-sequence decode medians (how much the repeats disagree), dimensionless."""
    medians = [statistics.median(part) for part in split_repeats(decode_samples_ms, decode_steps)
               if part]
    return coefficient_of_variation(medians)


@dataclass(frozen=True)
class Measurement:
    """Latency and peak memory of a prefill-then-decode run.

    ttft_samples_ms: wall time of each timed `prefill` call (one per repeat).
    decode_samples_ms: wall time of every timed `decode` call, repeat after repeat
        (repeats × decode_steps values).
    ttft_ms: median of ttft_samples_ms. prefill_tok_s: prompt_len / ttft, tokens per second.
    decode_p50_ms / decode_p95_ms / decode_cv: median, 95th percentile and coefficient of
        variation of decode_samples_ms.
    peak_rss_bytes: peak resident set size of the process that ran the program (includes the
        runtime itself); baseline_rss_bytes: that process's peak RSS before the program was loaded
        (0 when unknown), so peak - baseline approximates what the program added.
    repeats: timed sequences actually run (the protocol's minimum was raised while the run was
        noisy); max_repeats, cv_target: the protocol's bounds; stop_reason: "cv_target",
        "max_repeats", or "rounds" (several rounds pooled, `pooled`). ttft_cv /
        decode_repeat_cv: coefficient of variation of the TTFT samples and of the per-sequence
        decode medians (what the stopping rule looks at).
    operator_times: per-operator times from ETDump when the protocol asked for them, one dict
        per (method, operator): method, operator, delegated, calls (per method call),
        ms (per method call, summed over those calls).
    delegated_fraction: share of operator nodes delegated to XNNPACK, prefill and decode
        together (from the lowering's coverage report), when the caller knows it.
    agent_url: the agent that ran the job, for measurements taken through the remote backend.
    page_cache: what the measuring process did with the program file's page cache before loading
        it (`PAGE_CACHE_STATES`): "evicted" (read afresh from storage), "as found" (the OS could
        not drop the pages), "mixed" (pooled rounds that differ); None where the backend does not
        say (the adb runner, records made before 2026-12-06, predictions).
    """

    source: str
    backend: str
    device_id: str
    program_sha256: str
    threads: int
    prompt_len: int
    decode_steps: int
    warmup: int
    repeats: int
    ttft_samples_ms: tuple[float, ...]
    decode_samples_ms: tuple[float, ...]
    ttft_ms: float
    prefill_tok_s: float
    decode_p50_ms: float
    decode_p95_ms: float
    decode_cv: float
    peak_rss_bytes: int
    baseline_rss_bytes: int = 0
    max_repeats: int | None = None
    cv_target: float | None = None
    stop_reason: str | None = None
    ttft_cv: float = 0.0
    decode_repeat_cv: float = 0.0
    operator_times: tuple[dict[str, Any], ...] = ()
    delegated_fraction: float | None = None
    agent_url: str | None = None
    page_cache: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise SpecError("measurement.source", self.source, f"one of {list(SOURCES)}")
        if self.page_cache is not None and self.page_cache not in PAGE_CACHE_STATES:
            raise SpecError("measurement.page_cache", self.page_cache,
                            f"one of {list(PAGE_CACHE_STATES)} or null")
        object.__setattr__(self, "ttft_samples_ms", tuple(float(v) for v in self.ttft_samples_ms))
        object.__setattr__(self, "decode_samples_ms",
                           tuple(float(v) for v in self.decode_samples_ms))
        object.__setattr__(self, "operator_times", tuple(dict(op) for op in self.operator_times))

    @classmethod
    def from_samples(cls, *, backend: str, device_id: str, program_sha256: str, threads: int,
                     prompt_len: int, decode_steps: int, warmup: int, repeats: int,
                     ttft_samples_ms: Sequence[float], decode_samples_ms: Sequence[float],
                     peak_rss_bytes: int, baseline_rss_bytes: int = 0,
                     max_repeats: int | None = None, cv_target: float | None = None,
                     stop_reason: str | None = None,
                     operator_times: Sequence[dict[str, Any]] = (),
                     page_cache: str | None = None) -> Measurement:
        """A measured figure with its summary statistics computed from the samples."""
        ttft_ms = statistics.median(ttft_samples_ms) if ttft_samples_ms else math.nan
        return cls(
            source="measured", backend=backend, device_id=device_id,
            program_sha256=program_sha256, threads=threads, prompt_len=prompt_len,
            decode_steps=decode_steps, warmup=warmup, repeats=repeats,
            ttft_samples_ms=tuple(ttft_samples_ms), decode_samples_ms=tuple(decode_samples_ms),
            ttft_ms=ttft_ms,
            prefill_tok_s=prompt_len / (ttft_ms / 1000.0) if ttft_ms > 0 else math.nan,
            decode_p50_ms=percentile(decode_samples_ms, 50.0),
            decode_p95_ms=percentile(decode_samples_ms, 95.0),
            decode_cv=coefficient_of_variation(decode_samples_ms),
            peak_rss_bytes=peak_rss_bytes, baseline_rss_bytes=baseline_rss_bytes,
            max_repeats=max_repeats, cv_target=cv_target, stop_reason=stop_reason,
            ttft_cv=coefficient_of_variation(ttft_samples_ms),
            decode_repeat_cv=decode_repeat_cv(decode_samples_ms, decode_steps),
            operator_times=tuple(operator_times), page_cache=page_cache)

    @property
    def decode_tok_s(self) -> float:
        """Decode throughput from the median step time, tokens per second."""
        return 1000.0 / self.decode_p50_ms if self.decode_p50_ms > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ttft_samples_ms"] = list(self.ttft_samples_ms)
        data["decode_samples_ms"] = list(self.decode_samples_ms)
        data["operator_times"] = [dict(op) for op in self.operator_times]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"measurement.{unknown[0]}", data[unknown[0]],
                            f"one of the Measurement fields {sorted(known)}")
        try:
            return cls(**data)
        except TypeError as err:
            raise SpecError("measurement", sorted(data), f"all Measurement fields ({err})") from err


def pooled(rounds: Sequence[Measurement]) -> Measurement:
    """One measurement from several rounds of the same program (protocol `rounds`): the samples
    pooled in order, peak RSS the highest round's, baseline RSS the lowest's. stop_reason is
    "rounds" when there was more than one; page_cache the rounds' common state, "mixed" when
    they differ, None when none says."""
    if not rounds:
        raise ValueError("no rounds to pool")
    first = rounds[0]
    if len(rounds) == 1:
        return first
    if len({m.program_sha256 for m in rounds}) != 1:
        raise ValueError("rounds of different programs cannot be pooled")
    measurement = Measurement.from_samples(
        backend=first.backend, device_id=first.device_id, program_sha256=first.program_sha256,
        threads=first.threads, prompt_len=first.prompt_len, decode_steps=first.decode_steps,
        warmup=first.warmup, repeats=sum(m.repeats for m in rounds),
        ttft_samples_ms=[v for m in rounds for v in m.ttft_samples_ms],
        decode_samples_ms=[v for m in rounds for v in m.decode_samples_ms],
        peak_rss_bytes=max(m.peak_rss_bytes for m in rounds),
        baseline_rss_bytes=min(m.baseline_rss_bytes for m in rounds),
        max_repeats=first.max_repeats, cv_target=first.cv_target, stop_reason="rounds",
        operator_times=next((m.operator_times for m in rounds if m.operator_times), ()),
        page_cache=_pooled_page_cache([m.page_cache for m in rounds]))
    return replace(measurement, agent_url=first.agent_url)


def _pooled_page_cache(states: Sequence[str | None]) -> str | None:
    known = {state for state in states if state is not None}
    if not known:
        return None
    return known.pop() if len(known) == 1 and None not in states else "mixed"
