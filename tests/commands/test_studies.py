"""export_trial: files written from a trial record in a real SQLite study, and the errors."""

from __future__ import annotations

import json
import warnings

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from star_search.commands.studies import export_trial
from star_search.errors import ExportError
from star_search.spec import ArchSpec, LayerSpec

METRICS = ["quality", "decode_p50_ms", "ttft_ms", "peak_rss_mb"]


def make_spec(mixers: list[str]) -> ArchSpec:
    return ArchSpec(d_model=64, layers=tuple(LayerSpec(m) for m in mixers), n_heads=4, n_kv_heads=2,
                    head_dim=16, ffn_dim=96, vocab_size=320)


def record(spec: ArchSpec, constraints: list[float]) -> dict:
    return {"arch": spec.to_dict(), "arch_id": spec.arch_id, "pattern": spec.pattern(), "params": 1234,
            "constraint_names": ["decode_p50_ms"], "constraints": constraints,
            "measurement": {"source": "measured"}}


@pytest.fixture
def storage_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="export-test", storage=url,
                                directions=["maximize", "minimize", "minimize", "minimize"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(METRICS)
    study.set_user_attr("device_profile", {"name": "laptop_cpu"})
    conv_attn = make_spec(["conv", "attention", "conv"])
    with_ssm = make_spec(["conv", "ssm", "attention"])
    study.add_trial(create_trial(values=[0.8, 10.0, 100.0, 500.0], user_attrs=record(conv_attn, [-0.5])))
    study.add_trial(create_trial(values=[0.9, 30.0, 90.0, 400.0], user_attrs=record(with_ssm, [0.5])))
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_stage": "sample"}))
    return url


def test_exports_native_files_and_hf_config(storage_url, tmp_path):
    result = export_trial(storage_url, None, 0, tmp_path / "out")
    assert [p.name for p in result.files] == ["arch.json", "provenance.json", "config.json"]
    assert result.hf_config_skipped is None and result.pattern == "cac"
    spec = ArchSpec.from_json((tmp_path / "out" / "arch.json").read_text())
    assert spec.arch_id == result.arch_id
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert provenance["study"] == "export-test" and provenance["trial_number"] == 0
    assert provenance["objectives"] == {"quality": 0.8, "decode_p50_ms": 10.0, "ttft_ms": 100.0,
                                        "peak_rss_mb": 500.0}
    assert provenance["feasible"] is True and "sqlite" not in json.dumps(provenance)
    assert "wrote config.json" in result.summary()


def test_ssm_trial_skips_config_with_reason(storage_url, tmp_path):
    out = tmp_path / "out"
    export_trial(storage_url, "export-test", 0, out)
    result = export_trial(storage_url, "export-test", 1, out)
    assert [p.name for p in result.files] == ["arch.json", "provenance.json"]
    assert "layer 1 is ssm" in result.hf_config_skipped
    assert not (out / "config.json").exists()
    assert any("breaks at least one device budget" in note for note in result.notes)
    assert "skipped config.json" in result.summary()


def test_default_trial_is_the_chosen_one(storage_url, tmp_path):
    assert export_trial(storage_url, None, None, tmp_path).trial_number == 0


def test_errors_name_what_is_missing(storage_url, tmp_path):
    with pytest.raises(ExportError, match=r"trial 7 is not in study 'export-test' \(trial numbers: 0..2\)"):
        export_trial(storage_url, None, 7, tmp_path)
    with pytest.raises(ExportError, match=r"no 'arch' user attr .*failed at stage 'sample'"):
        export_trial(storage_url, None, 2, tmp_path)
    optuna.create_study(study_name="second", storage=storage_url)
    with pytest.raises(ExportError, match=r"holds 2 studies .*'export-test', 'second'"):
        export_trial(storage_url, None, 0, tmp_path)
