"""The commands' structured configs: one dataclass per command, registered in Hydra's ConfigStore
under the command's name (`star-search <command> --help` lists every key and its default).

Only the commands room reads these; it turns them into the library's typed settings. Hydra checks
each override's type; the ranges are checked here, when the command's dataclass is built
(`OmegaConf.to_object`), so a bad value is a `SpecError` naming its key before any work starts.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from star_search.errors import SpecError, no_such_key

# Seeds reach numpy's generator through Optuna's samplers: 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


def _check_int(value: object, key: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(key, value, "a positive integer" if minimum == 1 else f"an integer >= {minimum}")


def _check_seed(value: object, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise SpecError(key, value, f"an integer seed between 0 and {MAX_SEED}")


def _check_nonnegative(value: object, key: str, expected: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SpecError(key, value, expected)


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
    # `front`: a finished trial beats a candidate's quality only by more than this many standard
    # deviations of the seed noise of the difference (star_search/proxies/spread.py); 0 = bare values.
    front_noise_z: float = 1.0
    # Architectures scored in the study's terms after the trials and drawn in the report as
    # reference points: preset names or arch.json paths, e.g. [lfm2-350m] (search/references.py).
    references: list[str] = field(default_factory=list)
    # Wall-clock seconds this run (session) may start trials for, as Optuna's `timeout`: trials
    # running then are finished, then references, report and export as usual; null = no limit.
    timeout_s: float | None = None
    # With budgets.relative_to: a candidate timed beside the anchor whose anchor figures are off
    # their median over the study's earlier pairs by more than anchor_tolerance (a fraction) is
    # timed again, up to anchor_retimes more times; the pair nearest the median is kept.
    anchor_tolerance: float = 0.15
    anchor_retimes: int = 2
    # `predict` multiplies each prediction by the median measured/predicted ratio of the study's
    # measured trials (of the candidate's d_model when 3 or more), from the third measured trial on.
    correct_predictions: bool = True
    # Candidates evaluated first, as Optuna's enqueue_trial: mappings of the study's parameter
    # names (d_model, g0.repeat, g0.r0.s1.mixer, ...) to values, or YAML files listing such
    # mappings (star_search/search/enqueue.py); each is checked against the space first.
    enqueue: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, minimum in (("n_trials", 1), ("workers", 1), ("front_k", 1), ("heartbeat_interval_s", 1),
                              ("grace_period_s", 1), ("population_size", 2), ("anchor_retimes", 0)):
            _check_int(getattr(self, name), f"search.{name}", minimum)
        _check_seed(self.seed, "search.seed")
        _check_nonnegative(self.twin_wait_s, "search.twin_wait_s", "seconds ≥ 0")
        _check_nonnegative(self.prune_margin, "search.prune_margin", "a fraction ≥ 0, e.g. 0.1")
        _check_nonnegative(self.anchor_tolerance, "search.anchor_tolerance", "a fraction ≥ 0, e.g. 0.15")
        _check_nonnegative(self.front_noise_z, "search.front_noise_z", "standard deviations ≥ 0, e.g. 1")
        if self.timeout_s is not None:
            _check_nonnegative(self.timeout_s, "search.timeout_s", "seconds ≥ 0, or null for no limit")


@dataclass
class ProxiesGroup:
    tier: str = "demo"  # demo (README quick start), fast or full (`star-search proxies list tier=...`)
    steps: int | None = None
    seed: int | None = None
    threads: int | None = None
    scoring: str | None = None  # accuracy tasks scored by "accuracy" (tier default) or "probability"
    d_model: int | None = None  # proxy width (tier default 64; a multiple of the 16-wide heads)
    repeats: int | None = None  # seeds averaged per candidate (tier default; seed noise / sqrt(repeats))
    residual_init: str | None = None  # "depth": output projections scaled by 1/sqrt(2·layers) at init
    batch_size: int | None = None  # sequences per optimiser step (tier default)
    depth_fraction: float | None = None  # < 1: deep stacks' proxies keep that fraction of their layers
    family_weights: Any = None  # {mqar: 2, byte_lm: 0.5}: a family's weight in quality (others 1)
    # One ladder stage's own overrides, over the ones above: {full: {repeats: 2}} averages two seeds
    # in the `full` tier only (the front members), the `fast` tier stays one run.
    tiers: Any = None

    def __post_init__(self) -> None:
        if self.seed is not None:
            _check_seed(self.seed, "proxies.seed")


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
    repeats: int | None = None  # seeds averaged (seed, seed+1, ...): seed noise / sqrt(repeats)
    residual_init: str | None = None  # "depth": output projections scaled by 1/sqrt(2·layers) at init
    batch_size: int | None = None  # sequences per optimiser step (tier default)
    depth_fraction: float | None = None  # < 1: deep stacks' proxies keep that fraction of their layers
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
    # Architectures validated beside the drawn ones: preset names or arch.json paths, e.g. [lfm2-350m].
    extra: list[str] = field(default_factory=list)
    # With the profile's budgets.relative_to: time each held-out model beside that architecture and
    # compare predicted with measured ratios to it, as a search against the profile reads them.
    relative: bool = True


COMMANDS = {"presets": PresetsCommand, "search": SearchCommand, "export": ExportCommand,
            "agent": AgentCommand, "profile": ProfileCommand,
            "report": ReportCommand, "proxies_list": ProxiesListCommand, "proxies_run": ProxiesRunCommand,
            "latency_build": LatencyBuildCommand, "latency_validate": LatencyValidateCommand}


def register_configs() -> None:
    """Store every command's config in Hydra's ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    for name, node in COMMANDS.items():
        store.store(name=name, node=node)


# An override of a key: `key=value`, and Hydra's `+key=value` (add), `++key=value` (force) and
# `~key` (delete); `key@package` forms and flags are left to Hydra.
_OVERRIDE = re.compile(r"(?:\+\+|\+|~)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)(?:=(.*))?", re.DOTALL)


def check_override_keys(config: type, overrides: list[str]) -> None:
    """A `SpecError` for the first override whose key `config` (a command's dataclass) does not
    have, with a close-match hint (`search.n_trial` → did you mean 'search.n_trials'?). Hydra would
    say only that the key is not in the config, and would let `+search.foo=1` through unused."""
    for override in overrides:
        match = _OVERRIDE.fullmatch(override)
        if not match or match.group(1).startswith("hydra.") or match.group(1) == "hydra":
            continue
        key, value = match.groups()
        node: Any = config
        parts = key.split(".")
        for depth, part in enumerate(parts):
            if not (isinstance(node, type) and dataclasses.is_dataclass(node)):
                break  # below a free-form value (Any, a list, a mapping): Hydra's to check
            hints = typing.get_type_hints(node)
            if part not in hints:
                prefix = "".join(f"{name}." for name in parts[:depth])
                raise SpecError(key, value, no_such_key(prefix + part, [prefix + name for name in hints]))
            node = hints[part]
