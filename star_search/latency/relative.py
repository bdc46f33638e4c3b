"""A predictor's figures as the search and `latency validate` read them: relative to the profile's
anchor where it has one (`Anchor.read`: the candidate's prediction over the anchor's, from the same
table, times the anchor's budget figures), so that the table's errors shared by both cancel."""

from __future__ import annotations

from typing import Any, Protocol

from star_search.profiler.anchor import Anchor
from star_search.spec import ArchSpec


class Predictor(Protocol):
    """Target-size latency and memory from a device's latency table (`LatencyPredictor`)."""

    def predict(self, spec: ArchSpec) -> dict[str, Any]: ...


class RelativePredictions:
    """Callable: a spec's uncorrected prediction, read relative to `anchor` (as predicted, absolute,
    without one). The anchor's own prediction is made once, on first use."""

    def __init__(self, predictor: Predictor, anchor: Anchor | None) -> None:
        self.predictor = predictor
        self.anchor = anchor
        self._anchor_prediction: dict[str, Any] | None = None

    def __call__(self, spec: ArchSpec) -> dict[str, Any]:
        prediction = self.predictor.predict(spec)
        if self.anchor is None:
            return prediction
        if self._anchor_prediction is None:
            self._anchor_prediction = self.predictor.predict(self.anchor.spec)
        return self.anchor.read(prediction, self._anchor_prediction)
