"""The study's RDB storage (SQLite or PostgreSQL), safe to open from several processes at once.

Faults it turns into something a user can act on:

- a damaged SQLite study file (cut short, overwritten, not a database) is refused when the study
  is opened, with a `StudyStorageError` naming the file, never a database error mid-search;
- a PostgreSQL server that restarts (or a connection that drops) is waited for: pooled
  connections are checked before use (`pool_pre_ping`), and a call that loses its connection is
  tried again for up to `RECONNECT_WINDOW_S` seconds, after which it is a `StudyStorageError`
  (the trials finished so far are in the database; the same command resumes);
- a full disk under an SQLite study is a `DiskFullError` naming the file (SQLite rolls the
  transaction back: the finished trials are intact).
"""

from __future__ import annotations

import functools
import logging
import random
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from optuna.exceptions import ExperimentalWarning, StorageInternalError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from star_search.errors import DiskFullError, SpecError, StudyStorageError
from star_search.search.settings import SearchSettings

logger = logging.getLogger(__name__)

# Workers started together on a fresh database race to create Optuna's schema: its CREATE TABLE
# statements and alembic stamp each check first and then write, so all but one fail with a
# duplicate table, type or version row. The schema then exists and a second try goes through.
SCHEMA_RACE_ATTEMPTS = 6
# How long a storage call waits for a lost database server to come back (a restart takes seconds).
RECONNECT_WINDOW_S = 120.0
# Messages of errors that mean "the connection is gone or not possible yet", not "this query is
# wrong" (psycopg and SQLAlchemy wordings while a PostgreSQL server stops, restarts or recovers).
CONNECTION_LOST_MARKERS = (
    "connection refused", "could not connect", "connection failed", "server closed the connection",
    "terminating connection", "the database system is starting up", "the database system is shutting down",
    "the database system is in recovery mode", "the connection is closed", "connection is lost",
    "connection reset", "broken pipe", "ssl connection has been closed", "consuming input failed",
    "no connection to the server", "cannot connect now",
)
# SQLite's words for SQLITE_FULL.
SQLITE_FULL_MARKER = "database or disk is full"


def make_storage(settings: SearchSettings) -> RDBStorage:
    """RDB storage with heartbeats; a stale trial (its worker died) is retried up to twice.

    SQLite waits up to a minute for a lock so that several local workers can share one file;
    PostgreSQL (`postgresql://user@host/db`) is the storage for many workers or machines. A
    process that loses the race to create the schema waits a moment and opens it again. An
    existing SQLite file is checked first (`check_sqlite_study_file`).
    """
    check_sqlite_study_file(settings.storage_url)
    for attempt in range(1, SCHEMA_RACE_ATTEMPTS + 1):
        try:
            return _open(settings)
        except (ImportError, sqlalchemy.exc.SQLAlchemyError) as err:
            if attempt < SCHEMA_RACE_ATTEMPTS and is_schema_race(err):
                time.sleep(random.uniform(0.1, 0.5) * attempt)
                continue
            raise SpecError("search.storage", redacted(settings.storage_url),
                            f"a reachable SQLite or PostgreSQL URL ({type(err).__name__}: {err})") from err
    raise AssertionError("unreachable: the last attempt returns or raises")


def _open(settings: SearchSettings) -> RDBStorage:
    if settings.storage_url.startswith("sqlite"):
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}}
    else:  # a pooled connection that a server restart closed is replaced before use
        engine_kwargs = {"pool_pre_ping": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeat arguments
        return ReconnectingStorage(settings.storage_url, engine_kwargs=engine_kwargs,
                                   heartbeat_interval=settings.heartbeat_interval_s,
                                   grace_period=settings.grace_period_s,
                                   heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2))


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_sqlite_study_file(url: str) -> None:
    """Refuse an SQLite study file that exists but is damaged (a `StudyStorageError` naming it).

    A missing or empty file is a new study (SQLite creates an empty file on connecting, so a
    worker may see one that another worker is about to fill)."""
    path = sqlite_path(url)
    if path is None or not path.is_file() or path.stat().st_size == 0:
        return
    connection = sqlite3.connect(path, timeout=60)
    try:
        problems = [str(row[0]) for row in connection.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.OperationalError as err:
        if "locked" in str(err):
            return  # another worker holds it for over a minute: it is in use, so it opens
        problems = [str(err)]
    except sqlite3.DatabaseError as err:
        problems = [str(err)]
    finally:
        connection.close()
    if problems != ["ok"]:
        raise StudyStorageError(
            f"study file {path} is damaged ({'; '.join(problems[:3])}): its trials cannot be read. Restore "
            "it from a copy, or move it away to start a new study in its place")


def is_schema_race(err: BaseException) -> bool:
    """Another process created the same table, type or row first (PostgreSQL reports a duplicate
    pg_type entry or table, SQLite an existing table or a duplicate alembic version)."""
    return isinstance(err, sqlalchemy.exc.IntegrityError) or "already exists" in str(err)


def database_error(err: BaseException) -> sqlalchemy.exc.DBAPIError | None:
    """The database driver's error behind `err` (Optuna wraps failed commits in its own error)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.DBAPIError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_connection_lost(err: BaseException) -> bool:
    """Whether `err` says the database connection dropped or cannot be made yet (worth waiting for)."""
    cause = database_error(err)
    if cause is None:
        return False
    if cause.connection_invalidated:
        return True
    text = str(cause.orig if cause.orig is not None else cause).lower()
    return any(marker in text for marker in CONNECTION_LOST_MARKERS)


def is_sqlite_full(err: BaseException) -> bool:
    cause = database_error(err)
    return cause is not None and SQLITE_FULL_MARKER in str(cause.orig).lower()


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


class ReconnectingStorage(RDBStorage):
    """`RDBStorage` whose calls wait for a lost database server (see the module docstring).

    A call is tried again only when its connection was lost. A write whose commit reached the
    server just before the connection dropped could in principle be applied twice; PostgreSQL
    ends sessions before a fast or smart shutdown completes, so a restart does not hit that
    window in practice. Once a call has waited a whole window in vain, later calls fail at once
    (a worker that cannot reach its study stops instead of waiting again for every call) until one
    gets through."""

    reconnect_window_s: float = RECONNECT_WINDOW_S

    def __init__(self, *args: Any, **kwargs: Any):
        self._calls = threading.local()  # per thread: inside a call already being retried
        self._given_up = False
        super().__init__(*args, **kwargs)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_calls", None)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._calls = threading.local()

    def record_heartbeat(self, trial_id: int) -> None:
        # A heartbeat that cannot be recorded must not end the heartbeat thread: it is tried again
        # at the next beat, and the trial goes on.
        try:
            _reconnecting(RDBStorage.record_heartbeat)(self, trial_id)
        except (StudyStorageError, DiskFullError) as err:
            logger.warning("heartbeat of trial id %s not recorded: %s", trial_id, err)


T = TypeVar("T")


def _reconnecting(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def call(self: ReconnectingStorage, *args: Any, **kwargs: Any) -> T:
        if getattr(self._calls, "active", False):  # an outer call of this thread retries for us
            return method(self, *args, **kwargs)
        self._calls.active = True
        try:
            return _call_with_retries(self, method, args, kwargs)
        finally:
            self._calls.active = False
    return call


def _call_with_retries(storage: ReconnectingStorage, method: Callable[..., T], args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> T:
    deadline = time.monotonic() + (0.0 if storage._given_up else storage.reconnect_window_s)
    delay_s = 0.25
    while True:
        try:
            result = method(storage, *args, **kwargs)
        except (sqlalchemy.exc.SQLAlchemyError, StorageInternalError) as err:
            where = redacted(storage.url)
            if is_sqlite_full(err):
                path = sqlite_path(storage.url)
                raise DiskFullError(path or where, "SQLite: database or disk is full") from err
            if not is_connection_lost(err):
                raise
            if time.monotonic() + delay_s > deadline:
                storage._given_up = True
                raise StudyStorageError(
                    f"lost the study storage {where} for over {storage.reconnect_window_s:.0f} s "
                    f"({type(err).__name__}: {str(database_error(err) or err).splitlines()[0]}); the "
                    "trials finished so far are kept there: run the same command again to resume") from err
            logger.warning("lost the connection to %s (%s); trying again in %.1f s", where,
                           str(database_error(err) or err).splitlines()[0][:200], delay_s)
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 5.0)
            continue
        storage._given_up = False
        return result


# Every storage call Optuna makes (directly, through its cached storage, or for heartbeats).
RETRIED_METHODS = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
    "get_study_system_attrs", "get_all_studies", "create_new_trial", "_create_new_trial", "set_trial_param",
    "_set_trial_param", "get_trial_param", "set_trial_state_values", "set_trial_intermediate_value",
    "set_trial_user_attr", "set_trial_system_attr", "get_trial_id_from_study_id_trial_number",
    "get_trial_user_attrs", "get_trial_system_attrs", "get_trial", "get_all_trials", "_get_trials",
    "get_best_trial", "_get_best_trial_id", "_get_stale_trial_ids",
)
for _name in RETRIED_METHODS:
    setattr(ReconnectingStorage, _name, _reconnecting(getattr(RDBStorage, _name)))
del _name
