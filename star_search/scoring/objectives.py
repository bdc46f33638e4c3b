"""The objective vector of a candidate: proxy quality up; decode latency, TTFT and memory down."""

from __future__ import annotations

from dataclasses import dataclass

from optuna.study import StudyDirection


@dataclass(frozen=True)
class Objective:
    name: str
    direction: StudyDirection
    unit: str


OBJECTIVES: tuple[Objective, ...] = (
    Objective("quality", StudyDirection.MAXIMIZE, "normalised score, 0 = chance, 1 = perfect"),
    Objective("decode_p50_ms", StudyDirection.MINIMIZE, "ms per token"),
    Objective("ttft_ms", StudyDirection.MINIMIZE, "ms"),
    Objective("peak_rss_mb", StudyDirection.MINIMIZE, "MiB"),
)
OBJECTIVE_NAMES = tuple(o.name for o in OBJECTIVES)
DIRECTIONS = [o.direction for o in OBJECTIVES]


def figures_line(values: list[float], quality_sd: object, feasible: bool) -> str:
    """The objective values as the search log prints them (quality ± its seed spread when known)."""
    quality, decode_ms, ttft_ms, rss_mb = values
    spread = f"±{quality_sd:.3f}" if isinstance(quality_sd, int | float) else ""
    return (f"quality={quality:.3f}{spread} decode_p50={decode_ms:.2f}ms ttft={ttft_ms:.1f}ms "
            f"peak_rss={rss_mb:.0f}MiB {'feasible' if feasible else 'INFEASIBLE'}")


def objective_values(quality: float, decode_p50_ms: float, ttft_ms: float,
                     peak_rss_bytes: int) -> list[float]:
    """Values in the order of `OBJECTIVES`."""
    return [float(quality), float(decode_p50_ms), float(ttft_ms), peak_rss_bytes / 2**20]
