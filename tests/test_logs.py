"""Log routing: third-party chatter goes to the log file only, the project's lines and anyone's
errors reach the console, `verbose` shows all, and torch's own handler is adopted."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from star_search import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    adopted = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
               for name in logs.SELF_HANDLED_LOGGERS}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, (handlers_before, propagate) in adopted.items():
        logging.getLogger(name).handlers[:] = handlers_before
        logging.getLogger(name).propagate = propagate
    logging.captureWarnings(False)


def emit_everything() -> None:
    logging.getLogger().info("Copying constant nodes p_model_lm_head_weight")  # ExecuTorch, root logger
    logging.getLogger("torchao").warning("Failed to load _C_mxfp8.so")
    logging.getLogger("star_search.search").info("own line")
    logging.getLogger("optuna").error("a real third-party error")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library's deprecation", FutureWarning, stacklevel=1)


def test_quiet_console_and_full_log_file(tmp_path: Path, restore_logging: None,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    import optuna  # noqa: F401  (installs Optuna's own stderr handler)

    log_file = tmp_path / "run" / logs.LOG_FILE_NAME
    logs.configure(verbose=False, log_file=log_file)
    emit_everything()
    logs.echo("[1/8] trial 0 acac quality=0.351")
    out, err = capfd.readouterr()
    assert out == "[1/8] trial 0 acac quality=0.351\n"
    assert "own line" in err and "ERROR optuna: a real third-party error" in err
    for noise in ("Copying constant nodes", "Failed to load", "deprecation"):
        assert noise not in err
    text = log_file.read_text()
    for line in ("Copying constant nodes", "Failed to load", "deprecation", "own line",
                 "a real third-party error", "[1/8] trial 0 acac"):
        assert line in text


def test_verbose_shows_everything(restore_logging: None, capfd: pytest.CaptureFixture[str]) -> None:
    logs.configure(verbose=True)
    emit_everything()
    err = capfd.readouterr().err
    for line in ("Copying constant nodes", "WARNING torchao: Failed to load", "deprecation", "own line"):
        assert line in err


def test_torch_records_follow_the_same_rules(tmp_path: Path, restore_logging: None,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    import torch  # noqa: F401  (installs torch's own stderr handler)

    log_file = tmp_path / logs.LOG_FILE_NAME
    logs.configure(verbose=False, log_file=log_file)
    logging.getLogger("torch.utils._pytree").warning("register_constant() on Enum subclasses is deprecated")
    assert "register_constant" not in capfd.readouterr().err
    assert "register_constant" in log_file.read_text()


def test_reconfiguring_replaces_its_own_handlers(tmp_path: Path, restore_logging: None) -> None:
    before = len(logging.getLogger().handlers)
    logs.configure()
    logs.configure(log_file=tmp_path / "a.log")
    logs.log_to_file(tmp_path / "b.log")
    assert len(logging.getLogger().handlers) == before + 2  # one console, one file
