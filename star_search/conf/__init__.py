"""Hydra's config search path for the CLI (`pkg://star_search.conf`).

The commands' primary configs are structured dataclasses registered in the ConfigStore by
`star_search.cli`; YAML config groups added here are found by Hydra without code changes. A
dedicated package keeps Hydra from treating the library's own subpackages (`space`, `search`,
...) as config groups.
"""
