"""A real, small Optuna study in SQLite whose trials carry the trial-record contract.

The fake objective replays a fixed table of outcomes so the tests know which trial is on the
front, which is dominated, which breaks a budget, which failed and which was pruned.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna

from star_search.spec import ArchSpec, LayerSpec

HOSTILE = "<script>alert(1)</script>"
STUDY_NAME = "report-test"
METRICS = ["quality", "decode_p50_ms", "ttft_ms", "peak_rss_mb"]
DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
BUDGETS = {"decode_p50_ms": 20.0, "ttft_ms": 200.0, "peak_rss_mb": 1000.0, "params": 10_000_000}
CONSTRAINT_NAMES = ["decode_p50_ms", "ttft_ms", "peak_rss_mb", "params"]

# number → (mixers, outcome); outcome is objective values, "fail" or "prune".
OUTCOMES: list[tuple[str, object]] = [
    ("ccacca", (0.80, 10.0, 100.0, 500.0)),   # 0: front
    ("ccaccc", (0.70, 12.0, 110.0, 550.0)),   # 1: dominated by 0
    ("cccccc", (0.60, 5.0, 50.0, 300.0)),     # 2: front
    ("aaaaaa", (0.99, 1.0, 10.0, 100.0)),     # 3: would dominate all, but breaks the params budget
    ("sscc", "fail"),                         # 4: failed in measure
    ("ccca", "prune"),                        # 5: pruned by the static check
    ("cacc", (0.50, 4.0, 40.0, 250.0)),       # 6: front, with a hostile pattern attr
]
LETTERS = {"c": "conv", "a": "attention", "s": "ssm", "l": "linear_attention"}
FRONT = {0, 2, 6}
DOMINATED = {1}
INFEASIBLE = {3}


def small_spec(letters: str) -> ArchSpec:
    layers = tuple(LayerSpec(LETTERS[letter]) for letter in letters)
    return ArchSpec(d_model=64, layers=layers, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=128,
                    vocab_size=256, name=f"test-{letters}")


def fake_objective(trial: optuna.Trial) -> tuple[float, ...]:
    letters, outcome = OUTCOMES[trial.number]
    spec = small_spec(letters)
    trial.set_user_attr("arch", spec.to_dict())
    trial.set_user_attr("arch_id", spec.arch_id)
    trial.set_user_attr("pattern", HOSTILE if trial.number == 6 else spec.pattern())
    trial.set_user_attr("duration_s", 1.5)
    if outcome == "fail":
        trial.set_user_attr("fail_stage", "measure")
        trial.set_user_attr("fail_reason", "ProfilerError: child crashed <boom> & exited 139")
        raise RuntimeError("child crashed")
    if outcome == "prune":
        trial.set_user_attr("prune_stage", "static")
        trial.set_user_attr("prune_reason", "12,000,000 parameters exceed the budget of 10,000,000")
        raise optuna.TrialPruned("params")
    quality, decode_ms, ttft_ms, rss_mb = outcome  # type: ignore[misc]
    params = 20_000_000 if trial.number == 3 else 1_000_000
    figures = [decode_ms, ttft_ms, rss_mb, params]
    budgets = [BUDGETS[name] for name in CONSTRAINT_NAMES]
    trial.set_user_attr("params", params)
    trial.set_user_attr("proxy", {"tasks": {"recall": {"accuracy": quality, "chance": 0.1, "score": quality},
                                            "copy": {"accuracy": 0.5, "chance": 0.1, "score": 0.44}},
                                  "quality": quality, "train_seconds": 3.0,
                                  # the expected seed spread, except on trial 0 (never measured)
                                  **({"quality_sd": 0.02} if trial.number else {})})
    trial.set_user_attr("measurement", {"source": "measured", "ttft_ms": ttft_ms, "prefill_tok_s": 640.0,
                                        "decode_p50_ms": decode_ms, "decode_p95_ms": decode_ms * 1.1,
                                        "peak_rss_bytes": int(rss_mb * 2**20), "threads": 1,
                                        "backend": "local", "device_id": "test-host"})
    trial.set_user_attr("constraint_names", CONSTRAINT_NAMES)
    trial.set_user_attr("constraints", [(f - b) / b for f, b in zip(figures, budgets, strict=True)])
    return quality, decode_ms, ttft_ms, rss_mb


def build_study(path: Path, name: str = STUDY_NAME) -> optuna.Study:
    """Create the study in SQLite at `path` and run the fake objective over every outcome."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{path}", directions=DIRECTIONS,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(METRICS)
    study.set_user_attr("space", "demo")
    study.set_user_attr("device_profile", {"name": "laptop_cpu", "backend": "local", "threads": 1,
                                           "shapes": {"prompt_len": 64, "decode_steps": 32},
                                           "budgets": BUDGETS})
    study.set_user_attr("started_at", "2025-01-01T00:00:00+00:00")
    study.optimize(fake_objective, n_trials=len(OUTCOMES), catch=(RuntimeError,))
    return study
