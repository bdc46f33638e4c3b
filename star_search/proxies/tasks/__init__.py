"""Synthetic proxy task families, one per file."""

from star_search.proxies.tasks.compression import Compression
from star_search.proxies.tasks.fuzzy_recall import FuzzyRecall
from star_search.proxies.tasks.memorization import Memorization
from star_search.proxies.tasks.mqar import MultiQueryRecall
from star_search.proxies.tasks.noisy_recall import NoisyRecall
from star_search.proxies.tasks.selective_copy import SelectiveCopy

__all__ = ["Compression", "FuzzyRecall", "Memorization", "MultiQueryRecall", "NoisyRecall", "SelectiveCopy"]
