"""star-search: hardware-aware neural architecture search for LFM2-style backbones."""

from star_search.errors import StarSearchError
from star_search.spec import ArchSpec, LayerSpec

__all__ = ["ArchSpec", "LayerSpec", "StarSearchError"]
__version__ = "0.1.0"
