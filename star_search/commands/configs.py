"""The commands' structured configs: one dataclass per command, registered in Hydra's ConfigStore
under the command's name (`star-search <command> --help` lists every key and its default).

Only the commands room reads these; it turns them into the library's typed settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class SearchGroup:
    n_trials: int = 20
    sampler: str = "nsga2"
    seed: int = 0
    population_size: int = 8
    storage: str | None = None
    study_name: str | None = None
    cache_dir: str | None = None
    heartbeat_interval_s: int = 10
    grace_period_s: int = 30
    workers: int = 1
    twin_wait_s: float = 1800.0  # wait for another worker's running trial of the same architecture
    # Stages each candidate goes through (star_search/search/pipeline.py), e.g. the multi-fidelity
    # ladder [static,predict,fast,front,full,measure]; `proxies` = the tier in proxies.tier.
    pipeline: list[str] = field(default_factory=lambda: ["static", "proxies", "measure"])
    front_k: int = 1
    prune_margin: float = 0.1


@dataclass
class ProxiesGroup:
    tier: str = "demo"  # demo (README quick start), fast or full (`star-search proxies list tier=...`)
    steps: int | None = None
    seed: int | None = None
    threads: int | None = None
    scoring: str | None = None  # accuracy tasks scored by "accuracy" (tier default) or "probability"
    d_model: int | None = None  # proxy width (tier default 64; a multiple of the 16-wide heads)
    family_weights: Any = None  # {mqar: 2, byte_lm: 0.5}: a family's weight in quality (others 1)


@dataclass
class SearchCommand:
    space: str = "demo"
    device: str = "laptop_cpu"
    out_dir: str = "runs/${space}-${device}"
    search: SearchGroup = field(default_factory=SearchGroup)
    proxies: ProxiesGroup = field(default_factory=ProxiesGroup)


@dataclass
class ExportCommand:
    study: str | None = None
    trial: int | None = None
    study_name: str | None = None
    preset: str | None = None
    family: bool = False
    weights: bool = False
    seed: int = 0
    out_dir: str = "export"


@dataclass
class ReportCommand:
    study: Any = "???"  # a run folder, .db file or storage URL; or a list of them: study=[runs/a,runs/b]
    study_name: str | None = None
    labels: list[str] | None = None  # one per study when comparing (default: the study arguments)
    out: str = "reports/report.html"


@dataclass
class PresetsCommand:
    pass


@dataclass
class AgentCommand:
    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: str = "agent-data"
    token_file: str | None = None  # the bearer token: from a file ...
    token_env: str | None = None  # ... or from an environment variable (exactly one)
    device_id: str | None = None  # this machine's CPU as clients see it (default local:<host>:<arch>)
    cores: list[int] | None = None  # CPU ids jobs may be pinned to (default: all)
    max_program_mb: float = 2048.0
    job_timeout_s: float = 1800.0
    adb_runner: str | None = None  # serve attached Android phones with this arm64 executor_runner
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None


@dataclass
class ProfileCommand:
    device: str = "laptop_cpu"
    preset: str = "???"  # a preset name (star-search presets) or a path to an arch.json
    width: int | None = None  # d_model to measure at (heads, FFN scaled), default: the profile's target
    vocab_size: int | None = None
    cache_dir: str = "runs/profile-cache"
    json_out: str | None = None


@dataclass
class ProxiesListCommand:
    tier: str | None = None  # only this tier's settings (default: every registered setting)


@dataclass
class ProxiesRunCommand:
    arch: str = "???"  # a preset name (star-search presets) or a path to an arch.json
    tier: str = "fast"
    steps: int | None = None
    seed: int | None = None
    threads: int | None = None
    device: str | None = None  # auto (CUDA when available), cpu or cuda
    scoring: str | None = None  # accuracy tasks scored by "accuracy" (tier default) or "probability"
    d_model: int | None = None  # proxy width (tier default 64; a multiple of the 16-wide heads)
    family_weights: Any = None  # {mqar: 2, byte_lm: 0.5}: a family's weight in quality (others 1)
    json_out: str | None = None  # also write the full result (per setting, per family) as JSON


@dataclass
class LatencyBuildCommand:
    device: str = "laptop_cpu"
    space: str = "demo"  # the table covers every width and operator family this space produces
    cache_dir: str = "runs/latency-cache"  # holds latency/ (tables), programs/ and measurements


@dataclass
class LatencyValidateCommand(LatencyBuildCommand):
    n: int = 20  # held-out architectures measured whole
    seed: int = 2000  # of the held-out draws (the calibration draws use the profile's latency.seed)
    noise_check: bool = True  # measure each held-out model again in a fresh process (the noise floor)


COMMANDS = {"presets": PresetsCommand, "search": SearchCommand, "export": ExportCommand,
            "agent": AgentCommand, "profile": ProfileCommand,
            "report": ReportCommand, "proxies_list": ProxiesListCommand, "proxies_run": ProxiesRunCommand,
            "latency_build": LatencyBuildCommand, "latency_validate": LatencyValidateCommand}


def register_configs() -> None:
    """Store every command's config in Hydra's ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    for name, node in COMMANDS.items():
        store.store(name=name, node=node)
