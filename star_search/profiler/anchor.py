"""Times read relative to an anchor architecture timed beside the candidate (`budgets.relative_to`).

This VM's speed drifts by up to ±30% within minutes and by more between hours (BENCHMARKS.md,
"Latency table at shipping size"): LFM2-350M measured in the evening took 10% (TTFT) and 50%
(decode) longer than in the morning, when its figures became `laptop_cpu_350m`'s budgets. An
absolute budget therefore holds only for the hour it was measured in. The ratio of two programs
timed in the same rounds does not drift that way, so with `budgets.relative_to` a candidate is
timed together with the anchor (LFM2-350M) and each of its times becomes

    candidate's time / anchor's time in the same rounds × the anchor's budget figure,

that is, what the candidate would have taken on the day the budgets were measured (`beside`
times such a pair: the search's measure stage and `latency validate` both use it). Predictions
are read the same way (the candidate's prediction over the anchor's, from the same table), so
the table's shared errors cancel too. Decode p95 is scaled by the decode p50 ratio (the budgets
hold no p95). Memory does not drift and is left as measured. The record keeps what was measured
under `anchor`: the anchor's own figures, the factors and the candidate's unscaled times.

The ratio removes drift shared by the pair, not a disturbance that hits one program's rounds and
not the other's (in the shipping-size search a neighbour's load doubled the anchor's TTFT in one
pair, and the candidate read 0.71x of it; timed again, 1.14x). The anchor is timed in every pair,
so its own figures show such a pair: `deviation` compares them with their median over the pairs
the study measured in the last hour (`usual_figures`, `USUAL_WINDOW_S`), and the measure stage
times a pair again when it is off by more than the search's `anchor_tolerance` (the anchor
repeats within ±5% within a session). Only the last hour counts because the machine changes
between sessions: the next morning LFM2-350M's TTFT was 25% shorter and its decode step 26%
longer than the evening before, and a check against the whole study timed every pair three times.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from star_search.errors import StarSearchError
from star_search.profiler.device_profile import Budgets
from star_search.spec import ArchSpec

if TYPE_CHECKING:
    from star_search.profiler.meter import Meter

ANCHOR_ATTR = "anchor"
USUAL_WINDOW_S = 3600.0  # pairs finished this long before count towards the anchor's usual figures
_TIMES = ("ttft_ms", "decode_p50_ms")  # the anchor's figures a pair is read by
_SCALED = {"ttft_ms": "ttft_ms", "decode_p50_ms": "decode_p50_ms", "decode_p95_ms": "decode_p50_ms"}


@dataclass(frozen=True)
class Anchor:
    """name: as the profile names it; spec: at the size it is measured (the profile's target);
    ttft_ms, decode_p50_ms: its figures on the day the budgets were measured."""

    name: str
    spec: ArchSpec
    ttft_ms: float
    decode_p50_ms: float

    @classmethod
    def of(cls, budgets: Budgets, spec: ArchSpec) -> Anchor:
        if budgets.relative_to is None or budgets.ttft_ms is None or budgets.decode_p50_ms is None:
            raise StarSearchError("an anchor needs budgets.relative_to, budgets.ttft_ms and "
                                  "budgets.decode_p50_ms")
        return cls(budgets.relative_to, spec, float(budgets.ttft_ms), float(budgets.decode_p50_ms))

    def factors(self, anchor_figures: Mapping[str, Any]) -> dict[str, float]:
        """Budget figure over the anchor's figure now, per time figure it scales."""
        out = {}
        for name, budget in zip(_TIMES, (self.ttft_ms, self.decode_p50_ms), strict=True):
            now = float(anchor_figures[name])
            if not now > 0:
                raise StarSearchError(f"anchor {self.name}: {name} {now!r} is not a positive time")
            out[name] = budget / now
        return out

    def read(self, record: Mapping[str, Any], anchor_figures: Mapping[str, Any]) -> dict[str, Any]:
        """`record` (a measurement or prediction) with its times read relative to the anchor's
        figures taken beside it."""
        factors = self.factors(anchor_figures)
        out = dict(record)
        for name, factor in _SCALED.items():
            if out.get(name) is not None:
                out[name] = float(record[name]) * factors[factor]
        if out.get("prefill_tok_s") is not None and out.get("prompt_len"):
            out["prefill_tok_s"] = float(out["prompt_len"]) / (out["ttft_ms"] / 1000.0)
        out[ANCHOR_ATTR] = {
            "name": self.name, "arch_id": self.spec.arch_id, "budget_ttft_ms": self.ttft_ms,
            "budget_decode_p50_ms": self.decode_p50_ms,
            "figures": {name: anchor_figures.get(name) for name in (*_SCALED, "peak_rss_bytes")},
            "factors": factors,
            "unscaled": {name: record.get(name) for name in (*_SCALED, "prefill_tok_s")},
        }
        return out

    def beside(self, meter: Meter, spec: ArchSpec,
               before_timing: Callable[[], None] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """`spec` timed afresh together with the anchor under the meter's protocol
        (`Meter.measure_together`, nothing read from or stored in the measurement cache): `spec`'s
        record read relative to the anchor's figures of the same rounds (`read`), and those figures."""
        readings = meter.measure_together([spec, self.spec], fresh=True, before_timing=before_timing)
        anchor_figures = readings[1].record()
        return self.read(readings[0].record(), anchor_figures), anchor_figures

    def deviation(self, anchor_figures: Mapping[str, Any], usual: Mapping[str, float] | None) -> float:
        """How far the anchor's figures in this pair are from their usual values: the largest
        |figure / usual - 1| over TTFT and decode p50; 0 when nothing is usual yet."""
        if not usual:
            return 0.0
        return max(abs(float(anchor_figures[name]) / usual[name] - 1.0) for name in _TIMES)

    def usual_figures(self, records: Iterable[Mapping[str, Any]], device_id: str,
                      min_pairs: int = 3) -> dict[str, float] | None:
        """The median of this anchor's figures over earlier pairs on `device_id`: `records` are
        measurements read by `read` (others are skipped); None with fewer than `min_pairs`."""
        seen = [record[ANCHOR_ATTR]["figures"] for record in records
                if isinstance(record.get(ANCHOR_ATTR), Mapping)
                and record[ANCHOR_ATTR].get("arch_id") == self.spec.arch_id
                and record.get("device_id") == device_id]
        if len(seen) < min_pairs:
            return None
        return {name: statistics.median(float(figures[name]) for figures in seen) for name in _TIMES}
