"""The persistent proxy worker: results come back, and closing it ends its child process."""

from __future__ import annotations

from dataclasses import replace
from multiprocessing.connection import wait

from star_search.proxies.suite import proxy_config_for_tier
from star_search.search.proxy_worker import ProxyWorker
from star_search.spec import ArchSpec, LayerSpec


def test_closing_the_proxy_worker_ends_its_child() -> None:
    spec = ArchSpec(d_model=32, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=2, n_kv_heads=1,
                    head_dim=16, ffn_dim=64, vocab_size=128, max_seq_len=64, name="tiny")
    worker = ProxyWorker()
    result = worker.submit(spec, replace(proxy_config_for_tier("demo"), steps=2, eval_samples=8)).result()
    assert result["tasks"]
    children = list(worker._pool._processes.values())
    assert children
    worker.close()
    # An idle child that missed the shutdown sentinel would live on. Its own sentinel (a pipe the
    # OS closes when the process ends) is the check: `is_alive()` can report a child the executor's
    # manager thread has just reaped as alive, because its waitpid then fails in this thread.
    for child in children:
        assert wait([child.sentinel], timeout=30) == [child.sentinel]
