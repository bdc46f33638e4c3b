"""Per-device linear correction of the table's raw sums: measured ≈ intercept + slope × raw.

Fitted per metric on a few whole-model measurements by least squares on *relative* error (each
point weighted by 1 / measured²), so a small model's figure counts as much as a large one's.
With one point, or when the fitted line would fall (noise around tiny figures), only the slope is
fitted (through the origin); with no point the identity is used and the prediction says it is
uncalibrated. `through_origin` fits only the slope (a ratio) whatever the points: what the
predictor fits per width, where two or three points would make a line's intercept noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LinearCorrection:
    intercept: float = 0.0
    slope: float = 1.0
    points: int = 0

    def apply(self, raw: float) -> float:
        return self.intercept + self.slope * raw

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearCorrection:
        return cls(float(data["intercept"]), float(data["slope"]), int(data["points"]))


def fit_correction(raw: Sequence[float], measured: Sequence[float],
                   through_origin: bool = False) -> LinearCorrection:
    """The relative-error least-squares line through (raw, measured) pairs (with `through_origin`,
    the ratio measured / raw that fits them best)."""
    pairs = [(x, y) for x, y in zip(raw, measured, strict=True) if y > 0]
    if not pairs:
        return LinearCorrection()
    weights = [1.0 / (y * y) for _, y in pairs]
    sw = sum(weights)
    swx = sum(w * x for w, (x, _) in zip(weights, pairs, strict=True))
    swy = sum(w * y for w, (_, y) in zip(weights, pairs, strict=True))
    swxx = sum(w * x * x for w, (x, _) in zip(weights, pairs, strict=True))
    swxy = sum(w * x * y for w, (x, y) in zip(weights, pairs, strict=True))
    determinant = sw * swxx - swx * swx
    if not through_origin and len(pairs) >= 2 and determinant > 1e-12 * max(1.0, sw * swxx):
        slope = (sw * swxy - swx * swy) / determinant
        if slope > 0:  # a falling line means the points are noise around a flat one: fit a ratio
            return LinearCorrection((swy - slope * swx) / sw, slope, len(pairs))
    if swxx > 0:
        return LinearCorrection(0.0, swxy / swxx, len(pairs))
    return LinearCorrection(points=len(pairs))
