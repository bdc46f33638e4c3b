"""The commands room: one module per user command (search, profile, latency, proxies, export,
report; the agent's lives with the agent), the Hydra entry points (`cli.py`) and their structured
configs (`configs.py`). Commands read configs, run the rooms below and finish a run (report, CSV,
export); no other room imports this one (the import contract in pyproject.toml says so)."""
