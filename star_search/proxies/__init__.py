"""Proxy quality evals: synthetic tasks, a jointly trained small proxy model, per-task scores."""

from star_search.proxies.suite import (
    ProxyConfig,
    SuiteResult,
    default_tasks,
    proxy_config_for_tier,
    run_suite,
)
from star_search.proxies.task import Task, TaskBatch

__all__ = ["ProxyConfig", "SuiteResult", "Task", "TaskBatch", "default_tasks", "proxy_config_for_tier",
           "run_suite"]
