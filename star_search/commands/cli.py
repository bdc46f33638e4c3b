"""Command line: `star-search <command> key=value ...` with Hydra overrides.

Commands: those in `MAINS` (`search`, `export`, `report`, `presets`, ...). Each is a thin Hydra
main over its structured config (`commands.configs`) that calls the importable function of its
command module (`commands.search`, `commands.profile`, ...); no logic lives here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import OmegaConf

from star_search import logs
from star_search.commands.configs import COMMANDS, check_override_keys, register_configs
from star_search.errors import StarSearchError

register_configs()


def _fail(err: StarSearchError) -> None:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)


def _print_result(cfg: Any, run: Callable[..., Any], log_dir_field: str | None = None) -> None:
    """Call `run` with the command's fields and print what it returns (errors: `_fail`).
    log_dir_field: the field naming the folder that gets the command's log file."""
    try:
        fields = vars(OmegaConf.to_object(cfg))  # the configs' own range checks run here
    except StarSearchError as err:
        _fail(err)
    if log_dir_field:
        logs.log_to_file(Path(fields[log_dir_field]) / logs.LOG_FILE_NAME)
    logs.adopt_self_handled_loggers()  # torch, imported with the command's module, has its own handler
    try:
        logs.echo(str(run(**fields)))
    except StarSearchError as err:
        _fail(err)


def _main(name: str) -> Callable[[Callable[[Any], None]], Any]:
    """`hydra.main` for the command config stored under `name` (configs come from the ConfigStore
    alone: no config directory)."""
    return hydra.main(config_path=None, config_name=name, version_base="1.3")


@_main("search")
def search_main(cfg: Any) -> None:
    from star_search.commands.configs import SearchCommand
    from star_search.commands.search import run_search_command

    _print_result(cfg, lambda **fields: run_search_command(SearchCommand(**fields)), log_dir_field="out_dir")


@_main("export")
def export_main(cfg: Any) -> None:
    from star_search.commands.export import run_export

    _print_result(cfg, run_export)


@_main("report")
def report_main(cfg: Any) -> None:
    from star_search.commands.report import run_report

    _print_result(cfg, run_report)


@_main("presets")
def presets_main(cfg: Any) -> None:
    from star_search.presets import preset_table

    print(preset_table())


@_main("agent")
def agent_main(cfg: Any) -> None:
    from star_search.profiler.agent.server import agent_settings, serve

    try:
        settings = agent_settings(**vars(OmegaConf.to_object(cfg)))
    except StarSearchError as err:
        _fail(err)
        return
    serve(settings)


@_main("profile")
def profile_main(cfg: Any) -> None:
    from star_search.commands.profile import run_profile

    _print_result(cfg, run_profile)


@_main("proxies_list")
def proxies_list_main(cfg: Any) -> None:
    from star_search.commands.proxies import settings_table

    _print_result(cfg, settings_table)


@_main("proxies_run")
def proxies_run_main(cfg: Any) -> None:
    from star_search.commands.proxies import run_for_arch

    _print_result(cfg, lambda **fields: run_for_arch(**fields).summary())


@_main("latency_build")
def latency_build_main(cfg: Any) -> None:
    from star_search.commands.latency import run_build

    _print_result(cfg, run_build)


@_main("latency_validate")
def latency_validate_main(cfg: Any) -> None:
    from star_search.commands.latency import run_validate

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

`star-search <command> --help` shows every key and its default (Hydra).
-v (or verbose=true) shows other libraries' warnings and logs too; a search's full log is always
in OUT/star-search.log."""


def _split_command(args: list[str]) -> tuple[str | None, list[str]]:
    """`("proxies list", rest)` for two-word commands, `("search", rest)` for one-word ones."""
    if len(args) >= 2 and f"{args[0]} {args[1]}" in MAINS:
        return f"{args[0]} {args[1]}", args[2:]
    if args and args[0] in MAINS:
        return args[0], args[1:]
    return None, args


VERBOSE_FLAGS = ("-v", "--verbose", "verbose=true", "verbose=True")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = any(arg in VERBOSE_FLAGS for arg in args)
    args = [arg for arg in args if arg not in VERBOSE_FLAGS and arg not in ("verbose=false", "verbose=False")]
    logs.configure(verbose)
    command, overrides = _split_command(args)
    if command is None:
        print(USAGE, file=sys.stderr)
        sys.exit(0 if args and args[0] in ("-h", "--help") else 2)
    try:
        check_override_keys(COMMANDS[command.replace(" ", "_")], overrides)
    except StarSearchError as err:
        _fail(err)
    # Logging is star_search.logs' job (Hydra's own would send every library's records to the console).
    quiet_hydra = ["hydra/job_logging=none", "hydra/hydra_logging=none"]
    if command == "search":
        hydra_args = ["hydra.run.dir=${out_dir}", "hydra.job.chdir=False", *quiet_hydra]
    else:
        hydra_args = ["hydra.run.dir=.", "hydra.output_subdir=null", *quiet_hydra]
    sys.argv = [f"star-search {command}", *hydra_args, *overrides]
    MAINS[command]()


if __name__ == "__main__":
    main()
