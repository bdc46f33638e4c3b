"""Proxy task families, one per file; `checks` (validating a setting), `draw` (random content)
and `layout` (assembling sequences) hold what several families share."""

from star_search.proxies.tasks.byte_lm import ByteLM
from star_search.proxies.tasks.compression import Compression
from star_search.proxies.tasks.copying import Copying
from star_search.proxies.tasks.fuzzy_recall import FuzzyRecall
from star_search.proxies.tasks.in_context_recall import InContextRecall
from star_search.proxies.tasks.induction import InductionHead
from star_search.proxies.tasks.memorization import Memorization
from star_search.proxies.tasks.mqar import MultiQueryRecall
from star_search.proxies.tasks.multi_hop import MultiHopRecall
from star_search.proxies.tasks.needle import NeedleRetrieval
from star_search.proxies.tasks.noisy_recall import NoisyRecall
from star_search.proxies.tasks.selective_copy import SelectiveCopy
from star_search.proxies.tasks.sorting import Sorting
from star_search.proxies.tasks.state_tracking import RunningSum

__all__ = ["ByteLM", "Compression", "Copying", "FuzzyRecall", "InContextRecall", "InductionHead",
           "Memorization", "MultiHopRecall", "MultiQueryRecall", "NeedleRetrieval", "NoisyRecall",
           "RunningSum", "SelectiveCopy", "Sorting"]
