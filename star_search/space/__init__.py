"""Search-space DSL: YAML schema, validation and define-by-run sampling."""

from star_search.space.parse import load_space, parse_space
from star_search.space.sample import sample_arch
from star_search.space.schema import SearchSpace

__all__ = ["SearchSpace", "load_space", "parse_space", "sample_arch"]
