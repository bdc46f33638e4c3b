"""Per-block latency tables per device profile, the predictor built on them, and its validation.

See `blocks.py` (what is timed), `composition.py` (how blocks add up), `calibration.py` (the
per-device correction), `predictor.py` (the search's fast path) and `validation.py`.
"""

from star_search.latency.predictor import LatencyPredictor
from star_search.latency.validation import ValidationResult, validate

__all__ = ["LatencyPredictor", "ValidationResult", "validate"]
