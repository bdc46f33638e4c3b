"""Command line: `star-search <command> key=value ...` with Hydra overrides.

Commands: those in `MAINS` (`search`, `export`, `report`, `presets`, ...). Each is a thin Hydra
main that turns its structured config into library settings and calls an importable function;
no logic lives here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from star_search.errors import StarSearchError


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
store = ConfigStore.instance()
for _name, _node in COMMANDS.items():
    store.store(name=_name, node=_node)


def _fail(err: StarSearchError) -> None:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)


def _print_result(cfg: Any, run: Callable[..., Any]) -> None:
    """Call `run` with the command's fields and print what it returns (errors: `_fail`)."""
    try:
        print(run(**vars(OmegaConf.to_object(cfg))))
    except StarSearchError as err:
        _fail(err)


@hydra.main(config_path="pkg://star_search.conf", config_name="search", version_base="1.3")
def search_main(cfg: SearchCommand) -> None:
    from star_search.search import run_search
    from star_search.settings_builder import build_search_settings

    command: SearchCommand = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    try:
        outcome = run_search(build_search_settings(command))
    except StarSearchError as err:
        _fail(err)
        return
    print(f"done: {outcome.n_complete} complete, {outcome.n_pruned} pruned, {outcome.n_failed} failed")


@hydra.main(config_path="pkg://star_search.conf", config_name="export", version_base="1.3")
def export_main(cfg: ExportCommand) -> None:
    from star_search.errors import ExportError
    from star_search.export import export_preset, export_trial
    from star_search.settings_builder import storage_from_study_arg

    command: ExportCommand = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    try:
        if (command.study is None) == (command.preset is None):
            raise ExportError(f"give exactly one of study=<run dir or storage URL> and preset=<name> "
                              f"(got study={command.study!r}, preset={command.preset!r})")
        if command.preset is not None:
            result = export_preset(command.preset, Path(command.out_dir), command.family, command.weights,
                                   command.seed)
        else:
            result = export_trial(storage_from_study_arg(command.study), command.study_name, command.trial,
                                  Path(command.out_dir), family=command.family, weights=command.weights,
                                  seed=command.seed)
    except StarSearchError as err:
        _fail(err)
        return
    print(result.summary())


@hydra.main(config_path="pkg://star_search.conf", config_name="report", version_base="1.3")
def report_main(cfg: ReportCommand) -> None:
    from star_search.report import write_report_from_storage
    from star_search.settings_builder import storage_from_study_arg

    command: ReportCommand = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    studies = [str(s) for s in command.study] if isinstance(command.study, list) else [str(command.study)]
    try:
        path = write_report_from_storage([storage_from_study_arg(s) for s in studies], command.study_name,
                                         Path(command.out), labels=command.labels or studies)
    except StarSearchError as err:
        _fail(err)
        return
    print(f"report: {path}")


@hydra.main(config_path="pkg://star_search.conf", config_name="presets", version_base="1.3")
def presets_main(cfg: PresetsCommand) -> None:
    from star_search.presets import preset_table

    print(preset_table())


@hydra.main(config_path="pkg://star_search.conf", config_name="agent", version_base="1.3")
def agent_main(cfg: AgentCommand) -> None:
    from star_search.profiler.agent.server import agent_settings, serve

    command: AgentCommand = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    try:
        settings = agent_settings(**vars(command))
    except StarSearchError as err:
        _fail(err)
        return
    serve(settings)


@hydra.main(config_path="pkg://star_search.conf", config_name="profile", version_base="1.3")
def profile_main(cfg: ProfileCommand) -> None:
    from star_search.profiler.profile_arch import run_profile

    _print_result(cfg, run_profile)


@hydra.main(config_path="pkg://star_search.conf", config_name="proxies_list", version_base="1.3")
def proxies_list_main(cfg: ProxiesListCommand) -> None:
    from star_search.proxies.commands import settings_table

    _print_result(cfg, settings_table)


@hydra.main(config_path="pkg://star_search.conf", config_name="proxies_run", version_base="1.3")
def proxies_run_main(cfg: ProxiesRunCommand) -> None:
    from star_search.proxies.commands import run_for_arch

    _print_result(cfg, lambda **fields: run_for_arch(**fields).summary())


@hydra.main(config_path="pkg://star_search.conf", config_name="latency_build", version_base="1.3")
def latency_build_main(cfg: LatencyBuildCommand) -> None:
    from star_search.latency.commands import run_build

    _print_result(cfg, run_build)


@hydra.main(config_path="pkg://star_search.conf", config_name="latency_validate", version_base="1.3")
def latency_validate_main(cfg: LatencyValidateCommand) -> None:
    from star_search.latency.commands import run_validate

    _print_result(cfg, run_validate)


MAINS = {"presets": presets_main, "search": search_main, "export": export_main, "report": report_main,
         "agent": agent_main, "profile": profile_main, "proxies list": proxies_list_main,
         "proxies run": proxies_run_main, "latency build": latency_build_main,
         "latency validate": latency_validate_main}
USAGE = """usage: star-search <command> [key=value ...]

commands:
  presets  list the published LFM2 models usable as preset=<name>:  star-search presets
  search   run or resume a search:
           star-search search space=demo device=laptop_cpu search.n_trials=8 out_dir=runs/demo
  export   export a trial or preset: star-search export study=runs/demo trial=3 out_dir=export/
           star-search export study=runs/demo trial=3 family=true out_dir=family/
           star-search export preset=lfm2-1.2b out_dir=lfm2-1.2b/   (weights=true adds initialised weights)
  report   write an HTML report:    star-search report study=runs/demo out=reports/demo.html
           compare studies:         star-search report study=[runs/a,runs/b] out=reports/ab.html
  profile  lower and measure one architecture on a device profile:
           star-search profile device=laptop_cpu preset=lfm2-350m width=256
  agent    serve this machine's devices to remote searches (token from a file or variable):
           star-search agent host=127.0.0.1 port=8765 token_file=~/.star-search-token data_dir=agent-data
  proxies  the proxy eval suite: star-search proxies list [tier=fast]
           score one architecture:  star-search proxies run arch=lfm2-350m tier=fast
  latency  per-block latency table of a device, and its error on held-out models:
           star-search latency build device=laptop_cpu space=demo
           star-search latency validate device=laptop_cpu space=demo n=20

`star-search <command> --help` shows every key and its default (Hydra)."""


def _split_command(args: list[str]) -> tuple[str | None, list[str]]:
    """`("proxies list", rest)` for two-word commands, `("search", rest)` for one-word ones."""
    if len(args) >= 2 and f"{args[0]} {args[1]}" in MAINS:
        return f"{args[0]} {args[1]}", args[2:]
    if args and args[0] in MAINS:
        return args[0], args[1:]
    return None, args


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command, overrides = _split_command(args)
    if command is None:
        print(USAGE, file=sys.stderr)
        sys.exit(0 if args and args[0] in ("-h", "--help") else 2)
    if command == "search":
        hydra_args = ["hydra.run.dir=${out_dir}", "hydra.job.chdir=False"]
    else:
        hydra_args = ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=none",
                      "hydra/hydra_logging=none"]
    sys.argv = [f"star-search {command}", *hydra_args, *overrides]
    MAINS[command]()


if __name__ == "__main__":
    main()
