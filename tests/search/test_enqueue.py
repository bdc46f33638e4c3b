"""`search.enqueue`: candidates evaluated first, checked against the space, never enqueued twice."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from star_search.errors import SpecError
from star_search.search.enqueue import ENQUEUED_ATTR, checked_entries, enqueue
from star_search.sizing import param_count
from star_search.space import load_space, sample_arch

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "benchmarks" / "results" / "search-350m" / "enqueue_conv_attention.yaml"


@pytest.fixture(scope="module")
def space():
    return load_space(ROOT / "search_spaces" / "lfm2_hybrid_350m.yaml")


def test_the_shipped_seeds_are_the_conv_attention_candidates_they_say(space) -> None:
    entries = checked_entries(space, [str(SEEDS)])
    assert len(entries) == 6 and entries[0][0] == "search.enqueue[0] (enqueue_conv_attention.yaml[0])"
    specs = [sample_arch(space, optuna.trial.FixedTrial(params)) for _, params in entries]
    assert [spec.pattern() for spec in specs[:2]] == ["cca" * 5, "cca" * 6]
    assert all(set(spec.pattern()) <= {"c", "a"} for spec in specs)
    assert all(abs(param_count(spec) / 354_483_968 - 1) <= 0.03 for spec in specs)


def test_the_few_attention_seeds_are_the_patterns_they_say(space) -> None:
    """enqueue_few_attention.yaml: two or three GQA layers in 12-15, all at 354M within 3%."""
    entries = checked_entries(space, [str(SEEDS.with_name("enqueue_few_attention.yaml"))])
    specs = [sample_arch(space, optuna.trial.FixedTrial(params)) for _, params in entries]
    assert [spec.pattern() for spec in specs] == ["cccccaccccca", "cccccacccccaccc", "ccaccccaccca"]
    assert all(abs(param_count(spec) / 354_483_968 - 1) <= 0.03 for spec in specs)


def test_an_entry_that_is_not_a_candidate_of_the_space_names_it(space, tmp_path: Path) -> None:
    good = checked_entries(space, [str(SEEDS)])[0][1]
    cases = [({**good, "g0.r0.s0.mixer": "attention"}, r"search\.enqueue\[0\]\.g0\.r0\.s0\.mixer.*attention"),
             ({**good, "d_model": 1280}, r"search\.enqueue\[0\]\.d_model.*1280"),
             ({**good, "moe_expert_ratio": 0.3}, r"search\.enqueue\[0\]\.moe_expert_ratio.*0\.3"),
             ({k: v for k, v in good.items() if k != "g0.r4.s1.mixer"},
              r"search\.enqueue\[0\].*g0\.r4\.s1\.mixer"),
             ({**good, "g0.r5.s0.mixer": "conv"}, r"search\.enqueue\[0\].*g0\.r5\.s0\.mixer"),
             ("no/such/file.yaml", r"search\.enqueue\[0\].*no/such/file\.yaml"),
             (7, r"search\.enqueue\[0\].*7")]
    for entry, expected in cases:
        with pytest.raises(SpecError, match=expected):
            checked_entries(space, [entry])
    not_a_list = tmp_path / "one.yaml"
    not_a_list.write_text(yaml.safe_dump(good))
    with pytest.raises(SpecError, match="list of parameter mappings"):
        checked_entries(space, [str(not_a_list)])


def test_entries_are_asked_first_and_not_enqueued_again(space) -> None:
    entries = checked_entries(space, [str(SEEDS)])[:2]
    study = optuna.create_study(directions=["maximize", "minimize"])
    assert enqueue(study, entries) == 2
    assert enqueue(study, entries) == 0  # a resumed search does not repeat them
    first = study.ask()
    assert sample_arch(space, first).pattern() == "cca" * 5
    assert first.user_attrs[ENQUEUED_ATTR] == entries[0][0]
