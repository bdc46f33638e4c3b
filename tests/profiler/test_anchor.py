"""Times read relative to an anchor timed beside the candidate (`budgets.relative_to`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from star_search.errors import SpecError, StarSearchError
from star_search.profiler.anchor import Anchor
from star_search.profiler.device_profile import Budgets, load_profile, with_changes
from star_search.search import SearchSettings
from star_search.space import load_space
from star_search.spec import ArchSpec, LayerSpec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=4, n_kv_heads=2,
                head_dim=16, ffn_dim=128, vocab_size=256, max_seq_len=64, name="anchor")


def anchor() -> Anchor:
    return Anchor.of(Budgets(ttft_ms=3000.0, decode_p50_ms=40.0, relative_to="anchor"), SPEC)


def test_a_candidate_timed_on_a_slow_day_reads_as_on_the_day_of_the_budgets() -> None:
    # The machine runs 1.5x slower today: the anchor takes 4500 ms / 60 ms instead of 3000 / 40.
    today = {"ttft_ms": 4500.0, "decode_p50_ms": 60.0, "decode_p95_ms": 66.0, "peak_rss_bytes": 3 << 30}
    candidate = {"source": "measured", "prompt_len": 1024, "ttft_ms": 3600.0, "prefill_tok_s": 1024 / 3.6,
                 "decode_p50_ms": 45.0, "decode_p95_ms": 54.0, "peak_rss_bytes": 2 << 30}
    read = anchor().read(candidate, today)
    assert read["ttft_ms"] == pytest.approx(2400.0)            # 0.8 of the anchor's 3000
    assert read["decode_p50_ms"] == pytest.approx(30.0)        # 0.75 of the anchor's 40
    assert read["decode_p95_ms"] == pytest.approx(36.0)        # scaled by the p50 ratio
    assert read["prefill_tok_s"] == pytest.approx(1024 / 2.4)
    assert read["peak_rss_bytes"] == 2 << 30                   # memory does not drift
    assert read["source"] == "measured"
    kept = read["anchor"]
    assert kept["unscaled"]["ttft_ms"] == 3600.0 and kept["unscaled"]["decode_p50_ms"] == 45.0
    assert kept["figures"]["ttft_ms"] == 4500.0 and kept["arch_id"] == SPEC.arch_id
    assert kept["factors"] == pytest.approx({"ttft_ms": 3000 / 4500, "decode_p50_ms": 40 / 60})
    assert candidate["ttft_ms"] == 3600.0  # the input is not changed


def test_the_anchor_read_beside_itself_lands_on_the_budgets() -> None:
    same = {"ttft_ms": 3311.0, "decode_p50_ms": 51.7, "decode_p95_ms": 60.0, "peak_rss_bytes": 1}
    read = anchor().read(same, same)
    assert read["ttft_ms"] == pytest.approx(3000.0) and read["decode_p50_ms"] == pytest.approx(40.0)


def test_an_anchor_time_that_is_not_positive_is_an_error() -> None:
    with pytest.raises(StarSearchError, match="decode_p50_ms"):
        anchor().read({"ttft_ms": 1.0}, {"ttft_ms": 10.0, "decode_p50_ms": 0.0})


@pytest.mark.parametrize(("budgets", "expected"), [
    ({"relative_to": "lfm2-350m", "ttft_ms": 3000.0, "decode_p50_ms": None}, "budgets.decode_p50_ms"),
    ({"relative_to": "  ", "ttft_ms": 3000.0, "decode_p50_ms": 40.0}, "a preset name"),
    ({"relative_to": 7, "ttft_ms": 3000.0, "decode_p50_ms": 40.0}, "a preset name"),
])
def test_a_bad_relative_to_names_the_field(budgets: dict, expected: str) -> None:
    profile = load_profile(ROOT / "device_profiles" / "laptop_cpu.yaml")
    with pytest.raises(SpecError, match=expected) as err:
        with_changes(profile, {"budgets": budgets})
    assert "budgets.relative_to" in str(err.value)


def test_search_settings_need_the_anchor_a_profile_names(tmp_path: Path) -> None:
    profile = with_changes(load_profile(ROOT / "device_profiles" / "laptop_cpu.yaml"),
                           {"budgets": {"relative_to": "lfm2-350m", "ttft_ms": 3000.0,
                                        "decode_p50_ms": 40.0}})
    space = load_space(ROOT / "search_spaces" / "demo.yaml")
    with pytest.raises(SpecError, match=r"budgets\.relative_to"):
        SearchSettings(space=space, profile=profile, out_dir=tmp_path)
    assert SearchSettings(space=space, profile=profile, out_dir=tmp_path, anchor=SPEC).anchor == SPEC


def paired(ttft_ms: float, decode_ms: float, arch_id: str = SPEC.arch_id, device: str = "here") -> dict:
    """A measurement read beside the anchor, as a finished trial records it."""
    return {"device_id": device, "anchor": {"arch_id": arch_id,
                                            "figures": {"ttft_ms": ttft_ms, "decode_p50_ms": decode_ms}}}


def test_the_usual_anchor_figures_are_the_median_of_earlier_pairs_on_the_device() -> None:
    records = [paired(3200.0, 48.0), paired(3100.0, 46.0), paired(6350.0, 57.0), paired(3300.0, 50.0),
               paired(9.0, 9.0, arch_id="other"), paired(9.0, 9.0, device="phone"), {"ttft_ms": 1.0}]
    usual = anchor().usual_figures(records, "here")
    assert usual == {"ttft_ms": 3250.0, "decode_p50_ms": 49.0}
    assert anchor().usual_figures(records[:2], "here") is None  # too few pairs to say what is usual
    assert anchor().usual_figures(records[:2], "here", min_pairs=2) == {"ttft_ms": 3150.0,
                                                                         "decode_p50_ms": 47.0}


def test_deviation_is_the_worse_of_the_two_times() -> None:
    usual = {"ttft_ms": 3200.0, "decode_p50_ms": 50.0}
    assert anchor().deviation({"ttft_ms": 6400.0, "decode_p50_ms": 51.0}, usual) == pytest.approx(1.0)
    assert anchor().deviation({"ttft_ms": 3200.0, "decode_p50_ms": 45.0}, usual) == pytest.approx(0.1)
    assert anchor().deviation({"ttft_ms": 1.0, "decode_p50_ms": 1.0}, None) == 0.0
