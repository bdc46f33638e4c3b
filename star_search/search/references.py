"""Reference architectures (a published backbone, e.g. LFM2-350M) scored in a study's own terms.

A search's answer means something only beside a known point: `search.references` names
architectures that are evaluated after the trials through the same `CandidateEvaluator` (same
profile, proxy tiers, caches and measurement path) with every proxy tier of the pipeline and a
whole-model measurement, nothing pruned (a reference is measured even where it breaks a budget,
and its feasibility is recorded). The records are kept in the study's user attribute
`references`, outside the trials, so they steer no sampler and count in no front; the report
draws them as reference points and says where each falls against the front. A reference already
recorded with the same architecture id and pipeline is not evaluated again (a resumed search
keeps it); one that fails is recorded with its reason and the search's result stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import optuna

from star_search.errors import StarSearchError
from star_search.scoring import objective_values
from star_search.scoring.objectives import figures_line
from star_search.search.candidate import CandidateEvaluator, StageFailure, StagePruned
from star_search.search.pipeline import is_proxy_stage
from star_search.spec import ArchSpec

REFERENCES_ATTR = "references"


def reference_pipeline(pipeline: Sequence[str]) -> tuple[str, ...]:
    """Every proxy tier of `pipeline`, then a whole-model measurement: no pruning stage."""
    return (*[stage for stage in pipeline if is_proxy_stage(stage)], "measure")


def stored_references(study: optuna.Study) -> list[dict[str, Any]]:
    stored = study.user_attrs.get(REFERENCES_ATTR)
    return [r for r in stored if isinstance(r, dict)] if isinstance(stored, list) else []


def evaluate_references(study: optuna.Study, specs: Sequence[ArchSpec], evaluator: CandidateEvaluator,
                        constraint_names: Sequence[str],
                        echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Score each of `specs` with `evaluator` (built on `reference_pipeline`) unless the study
    already holds it, store the records in the study and return them all."""
    pipeline = list(evaluator.pipeline)
    records = stored_references(study)
    for spec in specs:
        name = spec.name or spec.pattern()
        same = [r for r in records if r.get("arch_id") == spec.arch_id and r.get("pipeline") == pipeline]
        if any("error" not in r for r in same):
            echo(f"reference {name}: already scored in this study")
            continue
        records = [r for r in records if not any(r is s for s in same)]  # a failed try is retried
        record = _score(spec, name, evaluator, constraint_names, pipeline)
        records.append(record)
        study.set_user_attr(REFERENCES_ATTR, records)
        echo(_summary(record))
    return records


def _score(spec: ArchSpec, name: str, evaluator: CandidateEvaluator, constraint_names: Sequence[str],
           pipeline: list[str]) -> dict[str, Any]:
    base = {"name": name, "arch_id": spec.arch_id, "pattern": spec.pattern(), "arch": spec.to_dict(),
            "pipeline": pipeline, "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    try:
        result = evaluator.evaluate(spec)
    except (StageFailure, StagePruned) as err:
        return {**base, "error": f"{err.stage}: {err.reason}"}
    except StarSearchError as err:
        return {**base, "error": f"{type(err).__name__}: {err}"}
    m = result.latency
    constraints = [result.constraints.get(name, 0.0) for name in constraint_names]
    proxy = result.proxy
    return {**base, "params": result.params, "target_arch": result.target.to_dict(),
            "values": objective_values(result.quality, m["decode_p50_ms"], m["ttft_ms"], m["peak_rss_bytes"]),
            "quality_sd": proxy.get("quality_sd"), "proxy_tier": pipeline[-2],
            "families": proxy.get("families"), "measurement": m,
            "proxy_tiers": {tier: {"quality": r["quality"], "quality_sd": r.get("quality_sd")}
                            for tier, r in result.proxy_tiers.items()},
            "constraint_names": list(constraint_names), "constraints": constraints,
            "feasible": all(c <= 0 for c in constraints)}


def _summary(record: dict[str, Any]) -> str:
    if "error" in record:
        return f"reference {record['name']}: failed at {record['error']}"
    return (f"reference {record['name']} {record['pattern']}: "
            f"{figures_line(record['values'], record.get('quality_sd'), record['feasible'])}")
