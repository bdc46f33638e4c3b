"""The shipped device profiles, installed as the package data `star_search.device_profiles`.

This file only makes the folder importable from an editable install (see pyproject.toml's
`[tool.setuptools]`); `star_search.resources` finds the YAML files by name.
"""
