"""Proxy quality evals: task families with difficulty sweeps, a jointly trained small proxy model,
per-setting and per-family scores, one quality objective."""

from star_search.proxies.catalog import all_tasks, families, select_tasks
from star_search.proxies.config import TIERS, ProxyConfig, proxy_config_for_tier
from star_search.proxies.proxy_model import proxy_size
from star_search.proxies.suite import SuiteResult, TaskScore, run_suite
from star_search.proxies.task import Task, TaskBatch

__all__ = ["TIERS", "ProxyConfig", "SuiteResult", "Task", "TaskBatch", "TaskScore", "all_tasks", "families",
           "proxy_config_for_tier", "proxy_size", "run_suite", "select_tasks"]
