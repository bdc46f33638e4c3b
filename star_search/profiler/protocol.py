"""MeasurementProtocol: how a program is timed, the same for every backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from star_search.errors import SpecError

# Prefix of the one stdout line on which the runner child reports its JSON result.
RESULT_MARKER = "STAR_SEARCH_RESULT "


@dataclass(frozen=True)
class MeasurementProtocol:
    """threads: CPU threads the runtime may use (also the number of cores pinned).
    warmup: untimed prefill+decode sequences run first. repeats: timed sequences.
    prompt_len: tokens per prefill; must equal the prompt length the program was lowered for.
    decode_steps: decode calls per sequence, each timed. timeout_s: wall-clock limit in seconds
    for the whole measurement (process start, program load, warm-up and repeats).
    """

    threads: int = 1
    warmup: int = 1
    repeats: int = 5
    prompt_len: int = 128
    decode_steps: int = 32
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        for name, minimum in (("threads", 1), ("warmup", 0), ("repeats", 1),
                              ("prompt_len", 1), ("decode_steps", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise SpecError(f"protocol.{name}", value, f"an integer >= {minimum}")
        if not isinstance(self.timeout_s, int | float) or not self.timeout_s > 0:
            raise SpecError("protocol.timeout_s", self.timeout_s, "a positive number of seconds")

    @classmethod
    def from_profile(cls, profile: Any) -> MeasurementProtocol:
        """The protocol a `DeviceProfile` asks for (threads, shapes.*, protocol.*)."""
        return cls(threads=profile.threads, warmup=profile.protocol.warmup,
                   repeats=profile.protocol.repeats, prompt_len=profile.shapes.prompt_len,
                   decode_steps=profile.shapes.decode_steps, timeout_s=profile.protocol.timeout_s)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
