"""Session fixtures: the contract study of `report_study`, built once in a tmp SQLite file."""

from __future__ import annotations

import optuna
import pytest
from report_study import STUDY_NAME, build_study


@pytest.fixture(scope="session")
def contract_storage_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("study") / "study.db"
    build_study(path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def contract_study(contract_storage_url: str) -> optuna.Study:
    return optuna.load_study(study_name=STUDY_NAME, storage=contract_storage_url)
