"""Command line: `star-search <command> key=value ...` with Hydra overrides.

Commands: those in `MAINS` (`search`, `export`, `report`, `presets`, ...). Each is a thin Hydra
main that turns its structured config into library settings and calls an importable function;
no logic lives here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class ProxiesGroup:
    tier: str = "demo"
    steps: int | None = None
    seed: int | None = None
    threads: int | None = None


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
    study: str = "???"
    study_name: str | None = None
    out: str = "reports/report.html"


@dataclass
class PresetsCommand:
    pass


COMMANDS = {"presets": PresetsCommand, "search": SearchCommand, "export": ExportCommand,
            "report": ReportCommand}
store = ConfigStore.instance()
for _name, _node in COMMANDS.items():
    store.store(name=_name, node=_node)


def _fail(err: StarSearchError) -> None:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)


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
    try:
        path = write_report_from_storage(storage_from_study_arg(command.study), command.study_name,
                                         Path(command.out))
    except StarSearchError as err:
        _fail(err)
        return
    print(f"report: {path}")


@hydra.main(config_path="pkg://star_search.conf", config_name="presets", version_base="1.3")
def presets_main(cfg: PresetsCommand) -> None:
    from star_search.presets import preset_table

    print(preset_table())


MAINS = {"presets": presets_main, "search": search_main, "export": export_main, "report": report_main}
USAGE = """usage: star-search <command> [key=value ...]

commands:
  presets  list the published LFM2 models usable as preset=<name>:  star-search presets
  search   run or resume a search:
           star-search search space=demo device=laptop_cpu search.n_trials=8 out_dir=runs/demo
  export   export a trial or preset: star-search export study=runs/demo trial=3 out_dir=export/
           star-search export study=runs/demo trial=3 family=true out_dir=family/
           star-search export preset=lfm2-1.2b out_dir=lfm2-1.2b/   (weights=true adds initialised weights)
  report   write an HTML report:    star-search report study=runs/demo out=reports/demo.html

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
