"""ExecuTorch lowering: export wrappers, .pte building, program cache, delegation coverage."""

from star_search.lower.cache import CachedProgram, ProgramCache
from star_search.lower.coverage import DelegationCoverage, delegation_coverage
from star_search.lower.export import LoweredProgram, lower_arch, lower_arch_with_report, lower_model
from star_search.lower.programs import DecodeProgram, PrefillProgram, ProgramShapes

__all__ = [
    "CachedProgram",
    "DecodeProgram",
    "DelegationCoverage",
    "LoweredProgram",
    "PrefillProgram",
    "ProgramCache",
    "ProgramShapes",
    "delegation_coverage",
    "lower_arch",
    "lower_arch_with_report",
    "lower_model",
]
