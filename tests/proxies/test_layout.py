"""The layouts and draws that several task families share (`tasks/layout.py`, `tasks/draw.py`)."""

from __future__ import annotations

import pytest
import torch

from star_search.errors import SpecError
from star_search.proxies.tasks.checks import require_at_most, require_key_spans
from star_search.proxies.tasks.draw import key_spans, key_value_pairs
from star_search.proxies.tasks.layout import prompted, queried, read_back
from star_search.proxies.vocab import CONTENT_BASE, COPY, IGNORE, SEP

X = IGNORE


def test_queried_scores_every_answer_token_from_the_token_before_it() -> None:
    context = torch.tensor([[40, 41, 42]])
    single = queried(context, torch.tensor([[50, 51]]), torch.tensor([[60, 61]]))
    assert single.inputs.tolist() == [[40, 41, 42, SEP, 50, 60, 51, 61]]
    assert single.targets.tolist() == [[X, X, X, X, 60, X, 61, X]]
    spans = queried(context, torch.tensor([[[50, 51]]]), torch.tensor([[[60, 61, 62]]]))
    assert spans.inputs.tolist() == [[40, 41, 42, SEP, 50, 51, 60, 61, 62]]
    assert spans.targets.tolist() == [[X, X, X, X, X, 60, 61, 62, X]]


def test_read_back_scores_the_readout_and_prompted_shows_the_previous_answer() -> None:
    answer = torch.tensor([[70, 71, 72]])
    assert prompted(COPY, answer).tolist() == [[COPY, 70, 71]]
    batch = read_back(torch.tensor([[30, 31]]), prompted(COPY, answer), answer)
    assert batch.inputs.tolist() == [[30, 31, COPY, 70, 71]]
    assert batch.targets.tolist() == [[X, X, 70, 71, 72]]


def test_key_draws_are_distinct_keys_and_values_from_their_own_pools() -> None:
    rng = torch.Generator().manual_seed(0)
    keys, values = key_value_pairs(64, 6, 8, 5, rng)
    assert all(len(set(row)) == 6 for row in keys.tolist())
    assert keys.min() >= CONTENT_BASE and keys.max() < CONTENT_BASE + 8
    assert values.min() >= CONTENT_BASE + 8 and values.max() < CONTENT_BASE + 13
    numbers, spans = key_spans(64, 5, 3, 2, rng)
    assert spans.shape == (64, 5, 2) and all(len(set(row)) == 5 for row in numbers.tolist())
    assert ((spans[:, :, 0] - CONTENT_BASE) * 3 + spans[:, :, 1] - CONTENT_BASE == numbers).all()


def test_checks_name_the_field_its_value_and_the_limit() -> None:
    require_at_most("mqar/x", "n_pairs", 4, "key_pool", 4)
    expected = r"'mqar/x\.n_pairs' has invalid value 5.*at most key_pool=4 \(distinct\)"
    with pytest.raises(SpecError, match=expected):
        require_at_most("mqar/x", "n_pairs", 5, "key_pool", 4, "distinct")
    assert require_key_spans("t", 16, 3) == 4096
    with pytest.raises(SpecError, match=r"key_pool \*\* key_len.*4913"):
        require_key_spans("t", 17, 3)
