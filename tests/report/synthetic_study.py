"""A large synthetic-but-real Optuna study: LFM2-scale specs, 56 proxy tasks, full measurements.

Every trial record has the shape `SearchObjective` writes (arch, arch_id, pattern, params,
target_arch, proxy with per-task and per-family scores, measurement with every sample, stage
seconds, constraints), plus what other parts of the project add: some figures are predicted
(`measurement` and `prediction` both hold the latency table's record, as in a search without
`measure`), some measured trials also carry a `prediction` (with the predictor's exact keys), and
measured trials carry an ETDump-style `operator_times` list. Latency and memory follow a simple
roofline of the real parameter counts (`sizing`), quality follows each family's affinity for the
layer mix, so the fronts look like a search's. It is test data: its device id and latency table
version say so wherever the report shows them. Used by `benchmarks/report_scale.py` and the
report's size and browser tests.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from star_search import sizing
from star_search.profiler.measurement import Measurement
from star_search.spec import ArchSpec, LayerSpec

METRICS = ["quality", "decode_p50_ms", "ttft_ms", "peak_rss_mb"]
DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
BUDGETS = {"decode_p50_ms": 80.0, "ttft_ms": 1200.0, "peak_rss_mb": 3000.0, "params": 800_000_000}
CONSTRAINT_NAMES = list(BUDGETS)
# family → (affinity to attention, to conv, to ssm, to linear attention)
FAMILIES = {
    "mqar": (1.0, 0.1, 0.3, 0.5), "noisy_recall": (0.9, 0.1, 0.3, 0.4), "fuzzy_recall": (0.8, 0.2, 0.3, 0.4),
    "hop2_recall": (1.0, 0.0, 0.2, 0.3), "selective_copy": (0.6, 0.3, 0.8, 0.5),
    "long_copy": (0.7, 0.1, 0.6, 0.6), "compression": (0.4, 0.5, 0.7, 0.5),
    "memorization": (0.3, 0.6, 0.4, 0.3), "induction": (0.9, 0.3, 0.4, 0.6),
    "sorting": (0.5, 0.4, 0.4, 0.4), "counting": (0.2, 0.7, 0.6, 0.5), "parity": (0.1, 0.8, 0.5, 0.3),
    "bigram": (0.2, 0.9, 0.4, 0.3), "icl_regression": (0.8, 0.2, 0.5, 0.7),
}
SETTINGS = ("s", "m", "l", "xl")
OPERATORS = ("xnnpack.linear", "xnnpack.conv1d", "aten.mul", "aten.add", "xnnpack.softmax", "aten.bmm",
             "aten.cumsum", "aten.exp", "aten.sigmoid", "aten.rms_norm", "aten.embedding",
             "aten.index_select", "aten.cat", "aten.slice_copy", "aten.topk", "aten.scatter")
LETTERS = {"c": "conv", "a": "attention", "s": "ssm", "l": "linear_attention"}
BASELINE_RSS_BYTES = 222 * 2**20
# Names that say, wherever the report shows them, that these figures are test data.
SYNTHETIC_DEVICE = "synthetic-test-data"
TABLE_VERSION = "synthetic-test-table"


def sample_spec(rng: np.random.Generator) -> ArchSpec:
    layers = []
    for _ in range(int(rng.choice([4, 5, 6]))):
        layers.append(LayerSpec(str(rng.choice(["conv", "ssm", "linear_attention"]))))
        layers.append(LayerSpec(str(rng.choice(["conv", "ssm", "linear_attention", "attention"]))))
        layers.append(LayerSpec(str(rng.choice(["conv", "attention"])), str(rng.choice(["swiglu", "moe"],
                                                                                          p=[0.8, 0.2]))))
    d_model = int(rng.choice([768, 1024, 1536]))
    return ArchSpec(d_model=d_model, layers=tuple(layers), n_heads=d_model // 64, n_kv_heads=4, head_dim=64,
                    ffn_dim=int(d_model * rng.choice([2.5, 3.0, 3.5, 4.0]) // 256 * 256), vocab_size=65536,
                    moe_num_experts=8, moe_top_k=2, moe_expert_dim=d_model, max_seq_len=4096)


def proxy_record(spec: ArchSpec, rng: np.random.Generator) -> dict[str, Any]:
    share = np.array([spec.count(kind) for kind in ("attention", "conv", "ssm", "linear_attention")],
                     dtype=float) / spec.n_layers
    size = np.log2(spec.d_model / 256) / 2
    tasks: dict[str, dict[str, Any]] = {}
    families: dict[str, float] = {}
    for family, affinity in FAMILIES.items():
        scores = []
        for index, setting in enumerate(SETTINGS):
            chance = 1 / (8 * (index + 2))
            fit = float(np.dot(share, affinity)) * 1.6 + 0.25 * size - 0.15 * index
            score = float(np.clip(fit + rng.normal(0, 0.06), 0.0, 1.0))
            tasks[f"{family}_{setting}"] = {"family": family, "accuracy": chance + score * (1 - chance),
                                            "chance": chance, "score": score}
            scores.append(score)
        families[family] = float(np.mean(scores))
    quality = float(np.mean([t["score"] for t in tasks.values()]))
    return {"tasks": tasks, "families": families, "quality": quality,
            "final_loss": float(rng.uniform(1.0, 3.0)), "train_seconds": float(rng.uniform(20, 60)),
            "eval_seconds": float(rng.uniform(1, 3)), "proxy_arch_id": f"{rng.integers(16**15):016x}",
            "device": "cpu", "config": {"tier": "default", "steps": 600}}


def figures(spec: ArchSpec, rng: np.random.Generator) -> tuple[float, float, int]:
    """Decode ms, TTFT ms and peak RSS bytes from a roofline of the real parameter counts."""
    active = sizing.active_param_count(spec)
    attention = spec.count("attention") / spec.n_layers
    decode_ms = active * 4 / 30e9 * 1000 * (1 + 0.4 * attention) * rng.lognormal(0, 0.05)
    ttft_ms = 2 * active * 64 / 60e9 * 1000 * (1 + 0.2 * attention) * rng.lognormal(0, 0.05)
    peak = BASELINE_RSS_BYTES + sizing.param_count(spec) * 4 + sizing.state_bytes(spec, 96)
    return decode_ms, ttft_ms, int(peak * rng.lognormal(0, 0.01))


def prediction_record(decode_ms: float, ttft_ms: float, peak_rss_bytes: int) -> dict[str, Any]:
    """A record with exactly the keys the latency predictor writes to the `prediction` attr."""
    return {"ttft_ms": ttft_ms, "prefill_tok_s": 64 / (ttft_ms / 1000), "decode_p50_ms": decode_ms,
            "decode_p95_ms": decode_ms * 1.05, "peak_rss_bytes": peak_rss_bytes, "source": "predicted",
            "table_version": TABLE_VERSION}


def measurement_record(spec: ArchSpec, rng: np.random.Generator, predicted: bool) -> dict[str, Any]:
    decode_ms, ttft_ms, peak = figures(spec, rng)
    if predicted:
        return prediction_record(decode_ms, ttft_ms, peak)
    measured = Measurement.from_samples(
        backend="local", device_id=SYNTHETIC_DEVICE, program_sha256=f"{rng.integers(16**15):016x}" * 4,
        threads=2, prompt_len=64, decode_steps=32, warmup=1, repeats=3,
        ttft_samples_ms=list(ttft_ms * rng.lognormal(0, 0.03, 3)),
        decode_samples_ms=list(decode_ms * rng.lognormal(0, 0.08, 96)),
        peak_rss_bytes=peak, baseline_rss_bytes=BASELINE_RSS_BYTES).to_dict()
    # The profiler's ETDump rows: per (method, operator), times and runs per method call.
    measured["operator_times"] = [
        {"method": method, "operator": name, "delegated": name.startswith("xnnpack"),
         "calls": float(spec.n_layers * (1 + index % 3)), "ms": float(total * share)}
        for method, total in (("prefill", measured["ttft_ms"]), ("decode", measured["decode_p50_ms"]))
        for index, (name, share) in enumerate(zip(OPERATORS, rng.dirichlet(np.ones(len(OPERATORS)) * 0.5),
                                                  strict=True))]
    measured.update(lowering_s=float(rng.uniform(60, 240)), program_size_bytes=sizing.param_count(spec) * 4)
    return measured


def trial_record(number: int,
                 rng: np.random.Generator) -> tuple[TrialState, list[float] | None, dict[str, Any]]:
    spec = sample_spec(rng)
    params = sizing.param_count(spec)
    attrs: dict[str, Any] = {"arch": spec.to_dict(), "arch_id": spec.arch_id, "pattern": spec.pattern(),
                             "duration_s": float(rng.uniform(60, 300))}
    if params > BUDGETS["params"]:
        attrs["prune_stage"] = "static"
        attrs["prune_reason"] = f"{params:,} parameters exceed the budget of {BUDGETS['params']:,}"
        return TrialState.PRUNED, None, attrs
    if rng.random() < 0.03:
        attrs["fail_stage"] = str(rng.choice(["lower", "measure"]))
        attrs["fail_reason"] = f"LoweringError: XNNPACK partitioner rejected node {number} (aten.scatter)"
        return TrialState.FAIL, None, attrs
    proxy = proxy_record(spec, rng)
    # As in a search, the leading candidates are measured whole; others may only be predicted.
    source = "predicted" if proxy["quality"] < 0.78 and rng.random() < 0.4 else "measured"
    measurement = measurement_record(spec, rng, predicted=source == "predicted")
    attrs.update(params=params, target_arch=spec.to_dict(), proxy=proxy, measurement=measurement,
                 stage_seconds={"proxies": proxy["train_seconds"], "lower": 120.0, "measure": 8.0})
    if source == "predicted":
        # A pipeline without `measure` uses the prediction as its figures, as the search does.
        attrs["prediction"] = measurement
    elif rng.random() < 0.3:
        # Measured after `predict`: the prediction is off by a synthetic error per figure.
        decode_ms, ttft_ms = (measurement[k] * rng.lognormal(0, 0.12) for k in ("decode_p50_ms", "ttft_ms"))
        peak = int(measurement["peak_rss_bytes"] * rng.lognormal(0, 0.04))
        attrs["prediction"] = prediction_record(decode_ms, ttft_ms, peak)
    values = [proxy["quality"], measurement["decode_p50_ms"], measurement["ttft_ms"],
              measurement["peak_rss_bytes"] / 2**20]
    figures_by_name = dict(zip(CONSTRAINT_NAMES, [*values[1:], params], strict=True))
    attrs["constraint_names"] = CONSTRAINT_NAMES
    attrs["constraints"] = [(figures_by_name[n] - BUDGETS[n]) / BUDGETS[n] for n in CONSTRAINT_NAMES]
    return TrialState.COMPLETE, values, attrs


def build_synthetic_study(storage: str | optuna.storages.BaseStorage, n_trials: int, seed: int = 0,
                          name: str = "synthetic", profile_name: str = "laptop_cpu") -> optuna.Study:
    """A study of `n_trials` finished trials (complete, pruned and failed) in `storage`."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(seed)
    study = optuna.create_study(study_name=name, storage=storage, directions=DIRECTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(METRICS)
    start = dt.datetime(2026, 11, 1, 9, 0, 0)
    study.set_user_attr("space", "lfm2_hybrid")
    study.set_user_attr("device_profile", {"name": profile_name, "backend": "local", "threads": 2,
                                           "shapes": {"prompt_len": 64, "decode_steps": 32,
                                                      "context_len": 4096, "dtype": "fp32"},
                                           "target": {"d_model": None}, "budgets": BUDGETS})
    study.set_user_attr("proxy_config", {"tier": "default"})
    study.set_user_attr("started_at", start.isoformat() + "+00:00")
    clock = start
    for number in range(n_trials):
        state, values, attrs = trial_record(number, rng)
        finished = clock + dt.timedelta(seconds=attrs["duration_s"])
        study.add_trial(FrozenTrial(number=number, state=state, value=None, values=values,
                                    datetime_start=clock, datetime_complete=finished, params={},
                                    distributions={}, user_attrs=attrs, system_attrs={},
                                    intermediate_values={}, trial_id=number))
        clock = finished
    study.set_user_attr("finished_at", clock.isoformat() + "+00:00")
    return study
