"""MeasurementProtocol: how a program is timed, the same for every backend.

A measurement is `warmup` untimed prefill+decode sequences, then timed sequences: at least
`repeats`, and more while the run is still noisy, up to `max_repeats`. The run stops as soon as
both the coefficient of variation of the per-sequence time to first token and that of the
per-sequence decode medians are at most `cv_target` (see `repeats_done`). Every sample is kept.

With `rounds` > 1 that whole run is made `rounds` times, in separate processes, and the samples
are pooled (`measurement.pooled`). Programs measured together (`Meter.measure_together`) are
visited in turn, round after round, so a change of the machine's speed while they are measured
(other tenants of a shared host) falls on all of them alike instead of on whichever program was
being timed at that moment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from star_search.errors import SpecError, no_such_key
from star_search.spec import check_positive_number, check_size, is_finite_number

# Prefix of the one stdout line on which the runner child reports its JSON result.
RESULT_MARKER = "STAR_SEARCH_RESULT "

# Fields that do not change the figures a protocol produces (left out of cache keys).
_NOT_IN_KEY = ("timeout_s",)
# Fields left out of cache keys at their default, so keys made before they existed still hold.
_KEY_DEFAULTS = {"rounds": 1}


@dataclass(frozen=True)
class MeasurementProtocol:
    """threads: CPU threads the runtime may use (also the number of cores pinned).
    warmup: untimed prefill+decode sequences run first.
    repeats: timed sequences at least; max_repeats: timed sequences at most.
    cv_target: stop repeating once the coefficient of variation (dimensionless) of the TTFT
        samples and of the per-sequence decode medians are both at most this.
    prompt_len: tokens per prefill; must equal the prompt length the program was lowered for.
    decode_steps: decode calls per sequence, each timed.
    etdump: also record per-operator times (ExecuTorch ETDump, read with the devtools Inspector)
        in a separate untimed pass.
    timeout_s: wall-clock limit in seconds for one run (process start, program load, warm-up,
        repeats and the ETDump pass).
    rounds: runs of warm-up plus repeats, each in a fresh process, whose samples are pooled;
        programs measured together take their rounds in turn (see the module docstring).
    """

    threads: int = 1
    warmup: int = 1
    repeats: int = 5
    max_repeats: int = 20
    cv_target: float = 0.05
    prompt_len: int = 64
    decode_steps: int = 32
    etdump: bool = False
    timeout_s: float = 600.0
    rounds: int = 1

    def __post_init__(self) -> None:
        for name, minimum in (("threads", 1), ("warmup", 0), ("repeats", 1), ("max_repeats", 1),
                              ("prompt_len", 1), ("decode_steps", 1), ("rounds", 1)):
            check_size(getattr(self, name), f"protocol.{name}", minimum)
        if self.max_repeats < self.repeats:
            raise SpecError("protocol.max_repeats", self.max_repeats,
                            f"an integer >= protocol.repeats ({self.repeats})")
        if not is_finite_number(self.cv_target) or not 0 < self.cv_target <= 1:
            raise SpecError("protocol.cv_target", self.cv_target,
                            "a coefficient of variation in (0, 1], e.g. 0.05")
        if not isinstance(self.etdump, bool):
            raise SpecError("protocol.etdump", self.etdump, "true or false")
        check_positive_number(self.timeout_s, "protocol.timeout_s")

    def with_shapes(self, threads: int, prompt_len: int, decode_steps: int) -> MeasurementProtocol:
        """This protocol on `threads` threads at other shapes (a device profile fills these in
        from its `threads` and `shapes`)."""
        return replace(self, threads=threads, prompt_len=prompt_len, decode_steps=decode_steps)

    @classmethod
    def from_dict(cls, data: object) -> MeasurementProtocol:
        """Parse a protocol sent over the wire; unknown or malformed fields name themselves."""
        if not isinstance(data, dict):
            raise SpecError("protocol", data, "a mapping of protocol fields")
        known = set(cls.__dataclass_fields__)
        for key in data:
            if not isinstance(key, str) or key not in known:
                raise SpecError(f"protocol.{key}", data[key], no_such_key(key, known))
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def key(self) -> str:
        """Canonical text of every field that changes the figures (for cache keys)."""
        fields = {k: v for k, v in self.to_dict().items() if k not in _NOT_IN_KEY}
        for name, default in _KEY_DEFAULTS.items():
            if fields[name] == default:
                del fields[name]
        return json.dumps(fields, sort_keys=True)

    def one_round(self) -> MeasurementProtocol:
        """The protocol of one round (what a backend runs)."""
        return replace(self, rounds=1)


def repeats_done(ttft_cv: float, decode_repeat_cv: float, n_repeats: int,
                 protocol: MeasurementProtocol) -> tuple[bool, str]:
    """Whether to stop after `n_repeats` timed sequences, and why ("cv_target"/"max_repeats").

    The CVs cannot be judged from a single sequence, so at least two are timed unless
    `max_repeats` is 1.
    """
    if n_repeats >= protocol.max_repeats:
        return True, "max_repeats"
    if n_repeats >= max(protocol.repeats, 2) and max(ttft_cv, decode_repeat_cv) <= protocol.cv_target:
        return True, "cv_target"
    return False, ""


def split_repeats(decode_samples_ms: Sequence[float], decode_steps: int) -> list[list[float]]:
    """The flat decode samples cut back into one list per timed sequence."""
    return [list(decode_samples_ms[i:i + decode_steps])
            for i in range(0, len(decode_samples_ms), decode_steps)]
