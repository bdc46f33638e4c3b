"""The measuring child loads its program from storage, not from pages an earlier process left in
the page cache (`runner.evict_from_page_cache`): a cached 350M program decoded up to 1.5x faster
on the development VM than the same file read afresh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from star_search.profiler.runner import evict_from_page_cache


def _resident_pages(path: str) -> int:
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "PAGES", path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


@pytest.mark.skipif(shutil.which("fincore") is None or not sys.platform.startswith("linux"),
                    reason="needs Linux and util-linux's fincore to read page-cache residency")
def test_a_program_file_leaves_the_page_cache_before_it_is_loaded(tmp_path) -> None:
    path = tmp_path / "program.pte"
    kind = subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True).stdout
    if kind.strip() in ("tmpfs", "ramfs"):
        pytest.skip(f"{tmp_path} is on {kind.strip()}: its pages are the file and cannot be dropped")
    with open(path, "wb") as handle:
        handle.write(os.urandom(8 << 20))
        handle.flush()
        os.fsync(handle.fileno())  # dirty pages cannot be dropped; written-back ones can
    path.read_bytes()
    assert _resident_pages(str(path)) > 0
    assert evict_from_page_cache(str(path)) == "evicted"
    assert _resident_pages(str(path)) == 0
