"""A real PostgreSQL database per test (skipped with the reason when no server can be had)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = "postgresql://postgres@127.0.0.1:5432"
TINY_SPACE = """\
name: tiny
description: Two-layer hybrids narrow enough to lower in seconds (worker and storage tests).
fixed: {vocab_size: 256, head_dim: 16, n_kv_heads: 2, ffn_multiple_of: 16, max_seq_len: 256}
params:
  d_model: {choices: [32, 64]}
  ffn_ratio: {choices: [2.0, 3.0]}
layers:
  - slots: [{mixer: [conv, attention]}, {mixer: [conv, attention]}]
"""


def _connect(url: str, autocommit: bool = False):
    import psycopg

    return psycopg.connect(url, connect_timeout=3, autocommit=autocommit)


def _server_url() -> str:
    """The server's URL, starting an installed-but-stopped cluster once if needed."""
    try:
        _connect(f"{SERVER}/postgres").close()
        return SERVER
    except Exception as first:
        clusters = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").is_dir() else []
        if not clusters or shutil.which("pg_ctlcluster") is None:
            pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 and none installed to start ({first})")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1].name, "main", "start"],
                       capture_output=True, timeout=60)
        try:
            _connect(f"{SERVER}/postgres").close()
        except Exception as second:
            pytest.skip(f"PostgreSQL is installed but could not be started: {second}")
        return SERVER


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database; dropped after the test."""
    server = _server_url()
    name = f"star_search_test_{uuid.uuid4().hex[:12]}"
    admin = _connect(f"{server}/postgres", autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return path
