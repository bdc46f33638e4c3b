"""Where log records go: everything to the run's log file, the project's own lines to the console.

Torch, torchao, ExecuTorch and Optuna log a great deal that says nothing to a star-search user
(CUDA kernels torchao cannot load on a CPU machine, "Copying constant nodes ..." once per program,
a torch pytree deprecation). By default the console shows records of `star_search.*` loggers and
any record at ERROR or above from anyone, so a real failure is never hidden; `verbose` shows every
record. The log file, when there is one, receives every record at INFO and above, Python warnings
included. Processes a command spawns (search workers, the proxy worker, isolated lowering) call
`configure_from_environment()`: `configure` leaves its choices in the environment they inherit.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

LOG_FILE_NAME = "star-search.log"
ENV_LOG_FILE = "STAR_SEARCH_LOG_FILE"
ENV_VERBOSE = "STAR_SEARCH_VERBOSE"
OWN_LOGGERS = ("star_search", "__main__")
FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
# Loggers that keep their own console handler and do not propagate (torch and Optuna install one on
# import): their records are sent through the root logger's handlers instead, so the same rules apply.
SELF_HANDLED_LOGGERS = ("torch", "optuna")
_MARK = "_star_search_handler"
ECHOED = "star_search_echoed"  # a record of a line `echo` has already printed to stdout
_echo_log = logging.getLogger("star_search.console")


class ConsoleFilter(logging.Filter):
    """Passes the project's own records, and anyone's at ERROR or above (all with `verbose`)."""

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, ECHOED, False):
            return False
        if self.verbose or record.levelno >= logging.ERROR:
            return True
        return _is_own(record)


def _is_own(record: logging.LogRecord) -> bool:
    return record.name.split(".")[0] in OWN_LOGGERS


class ConsoleFormatter(logging.Formatter):
    """The project's INFO lines as they are; anything else with its level and logger named."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if _is_own(record) and record.levelno == logging.INFO:
            return message
        return f"{record.levelname} {record.name}: {message}"


def _own(handler: logging.Handler) -> logging.Handler:
    setattr(handler, _MARK, True)
    return handler


def configure(verbose: bool = False, log_file: Path | None = None) -> None:
    """Route this process's log records: console (stderr) by `ConsoleFilter`, every record to
    `log_file` (appended; created with its folder). Safe to call again, e.g. once the run's folder
    is known: the handlers it installed before are replaced."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.INFO)
    console = _own(logging.StreamHandler(sys.stderr))
    console.setFormatter(ConsoleFormatter())
    console.addFilter(ConsoleFilter(verbose))
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = _own(logging.FileHandler(log_file, encoding="utf-8"))
        file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
        root.addHandler(file_handler)
        os.environ[ENV_LOG_FILE] = str(log_file.resolve())
    else:
        os.environ.pop(ENV_LOG_FILE, None)
    os.environ[ENV_VERBOSE] = "1" if verbose else "0"
    logging.captureWarnings(True)
    adopt_self_handled_loggers()


def adopt_self_handled_loggers() -> None:
    """Send torch's and Optuna's log records through the root handlers (call again after they are
    imported: each installs its stderr handler at import time)."""
    for name in SELF_HANDLED_LOGGERS:
        if name.split(".")[0] not in sys.modules:
            continue
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def log_to_file(log_file: Path) -> None:
    """Keep the console routing `configure` set, and add `log_file`."""
    configure(os.environ.get(ENV_VERBOSE) == "1", log_file)


def configure_from_environment() -> None:
    """In a spawned child: the same routing as the process that started it (nothing when that
    process never called `configure`)."""
    if ENV_VERBOSE not in os.environ:
        return
    log_file = os.environ.get(ENV_LOG_FILE)
    configure(os.environ[ENV_VERBOSE] == "1", Path(log_file) if log_file else None)


def echo(line: str) -> None:
    """A line of the project's console output: printed to stdout, and kept in the log file."""
    print(line, flush=True)
    _echo_log.info(line, extra={ECHOED: True})
