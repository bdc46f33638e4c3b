"""Predictions corrected by the study's own measurements (`search.correct_predictions`).

The latency table is calibrated once, on a few whole models; a search then measures whole models
of its own through the same path, and those show what is left of the table's error on this
space. In the shipping-size search (BENCHMARKS.md, "The shipping-size search") the table was
too fast on the SSM and linear-attention hybrids, more at d_model 1536 than at 1024: 14 and 13 of
its 22 measured trials within ±10% on TTFT and decode p50. Multiplying each prediction by the
median measured/predicted ratio of the other measured trials of its width put 19 and 17 within
±10% (leave one out; a regression on the mixers' shares did no better), so `predict` applies it:

- per figure (TTFT, decode p50 and p95, peak RSS), from the study's finished trials that hold both
  a measurement and a prediction from the same device;
- from the trials of the candidate's `d_model` when there are at least `MIN_PAIRS` of them,
  otherwise from all of them, otherwise not at all (the prediction says which);
- the ratio is taken against each trial's uncorrected prediction, which the corrected record keeps
  under `correction`, so corrections do not compound; a search passes `predict` to `pairs_of`,
  and the ratio is then taken against the trial's uncorrected prediction as the predictor makes it
  *now* (from the trial's recorded target spec), so a study resumed after its table's composition
  or calibration changed does not scale today's predictions by the errors of yesterday's
  (e.g. per-width calibration: a d_model 1536 trial's recorded prediction still carries the
  1536 shortfall that today's calibration already removes).

The trials measured are those whose prediction passed, so their ratios lean high (a candidate
predicted too fast passes more easily): the correction errs towards pruning, and the report's
prediction check shows how far it is off.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CORRECTION_ATTR = "correction"
FIGURES = ("ttft_ms", "decode_p50_ms", "decode_p95_ms", "peak_rss_bytes")
MIN_PAIRS = 3


@dataclass(frozen=True)
class MeasuredPair:
    """One finished trial: its target width, measurement and prediction (as recorded)."""

    d_model: int
    measurement: Mapping[str, Any]
    prediction: Mapping[str, Any]

    @property
    def uncorrected(self) -> Mapping[str, Any]:
        kept = self.prediction.get(CORRECTION_ATTR)
        return kept["uncorrected"] if isinstance(kept, Mapping) else self.prediction

    def ratio(self, figure: str) -> float | None:
        measured, predicted = self.measurement.get(figure), self.uncorrected.get(figure)
        if measured is None or predicted is None or not float(predicted) > 0:
            return None
        return float(measured) / float(predicted)


def pairs_of(trials: Iterable[Mapping[str, Any]], device_id: str,
             predict: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None) -> list[MeasuredPair]:
    """The measured pairs among finished trials' user attributes, on `device_id`. With `predict`
    (a trial's target spec, as recorded → its uncorrected prediction now), each pair holds that
    prediction instead of the one recorded when the trial ran."""
    out = []
    for attrs in trials:
        measured, predicted = attrs.get("measurement"), attrs.get("prediction")
        target = attrs.get("target_arch")
        if not all(isinstance(part, Mapping) for part in (measured, predicted, target)):
            continue
        if measured.get("source") != "measured" or measured.get("device_id") != device_id:
            continue
        out.append(MeasuredPair(int(target["d_model"]), measured,
                                predicted if predict is None else predict(target)))
    return out


def correct(prediction: Mapping[str, Any], d_model: int, pairs: Iterable[MeasuredPair]) -> dict[str, Any]:
    """`prediction` times the median measured/predicted ratio of `pairs` at `d_model` (or of all
    of them), per figure; with fewer than `MIN_PAIRS`, unchanged but for saying so."""
    pairs = list(pairs)
    same_width = [pair for pair in pairs if pair.d_model == d_model]
    basis, chosen = ((f"{len(same_width)} measured trials at d_model {d_model}", same_width)
                     if len(same_width) >= MIN_PAIRS else (f"{len(pairs)} measured trials", pairs))
    out = dict(prediction)
    if len(chosen) < MIN_PAIRS:
        basis = f"none: {len(pairs)} measured trials, {MIN_PAIRS} needed"
        out[CORRECTION_ATTR] = {"factors": {}, "basis": basis, "uncorrected": dict(prediction)}
        return out
    factors = {}
    for figure in FIGURES:
        ratios = [r for r in (pair.ratio(figure) for pair in chosen) if r is not None]
        if prediction.get(figure) is not None and len(ratios) >= MIN_PAIRS:
            factors[figure] = statistics.median(ratios)
            out[figure] = float(prediction[figure]) * factors[figure]
    if "peak_rss_bytes" in factors:
        out["peak_rss_bytes"] = int(out["peak_rss_bytes"])
    if out.get("prefill_tok_s") is not None and out.get("prompt_len") and out.get("ttft_ms"):
        out["prefill_tok_s"] = float(out["prompt_len"]) / (float(out["ttft_ms"]) / 1000.0)
    if out.get("decode_p95_ms") is not None and out.get("decode_p50_ms") is not None:
        out["decode_p95_ms"] = max(out["decode_p95_ms"], out["decode_p50_ms"])
    out[CORRECTION_ATTR] = {"factors": factors, "basis": basis, "uncorrected": dict(prediction)}
    return out
