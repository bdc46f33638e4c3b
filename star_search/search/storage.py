"""The study's RDB storage (SQLite or PostgreSQL), safe to open from several processes at once."""

from __future__ import annotations

import random
import time
import warnings

import sqlalchemy
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from star_search.errors import SpecError
from star_search.search.settings import SearchSettings

# Workers started together on a fresh database race to create Optuna's schema: its CREATE TABLE
# statements and alembic stamp each check first and then write, so all but one fail with a
# duplicate table, type or version row. The schema then exists and a second try goes through.
SCHEMA_RACE_ATTEMPTS = 6


def make_storage(settings: SearchSettings) -> RDBStorage:
    """RDB storage with heartbeats; a stale trial (its worker died) is retried up to twice.

    SQLite waits up to a minute for a lock so that several local workers can share one file;
    PostgreSQL (`postgresql://user@host/db`) is the storage for many workers or machines. A
    process that loses the race to create the schema waits a moment and opens it again.
    """
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
    engine_kwargs = {"connect_args": {"timeout": 60}} if settings.storage_url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeat arguments
        return RDBStorage(settings.storage_url, engine_kwargs=engine_kwargs,
                          heartbeat_interval=settings.heartbeat_interval_s,
                          grace_period=settings.grace_period_s,
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2))


def is_schema_race(err: BaseException) -> bool:
    """Another process created the same table, type or row first (PostgreSQL reports a duplicate
    pg_type entry or table, SQLite an existing table or a duplicate alembic version)."""
    return isinstance(err, sqlalchemy.exc.IntegrityError) or "already exists" in str(err)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url
