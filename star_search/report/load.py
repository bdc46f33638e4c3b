"""Open an existing study by storage URL, choosing the only one when no name is given."""

from __future__ import annotations

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from star_search.errors import StarSearchError
from star_search.search.storage import check_sqlite_study_file


def display_url(storage_url: str) -> str:
    """The storage URL with any password masked, for messages."""
    try:
        return make_url(storage_url).render_as_string(hide_password=True)
    except ArgumentError:
        return storage_url


def load_study(storage_url: str, study_name: str | None) -> optuna.Study:
    """Load `study_name` from `storage_url`; with no name, the storage must hold exactly one study.

    Raises `StarSearchError` naming the studies that exist when the choice is empty or ambiguous.
    """
    where = display_url(storage_url)
    check_sqlite_study_file(storage_url)  # a damaged study file is named, not a SQLAlchemy traceback
    names = optuna.get_all_study_names(storage=storage_url)
    if study_name is None:
        if len(names) != 1:
            found = ", ".join(repr(n) for n in sorted(names)) or "none"
            raise StarSearchError(f"storage {where} holds {len(names)} studies ({found}); "
                                  f"pass study_name to pick one")
        study_name = names[0]
    elif study_name not in names:
        found = ", ".join(repr(n) for n in sorted(names)) or "none"
        raise StarSearchError(f"study {study_name!r} is not in storage {where}; it holds: {found}")
    return optuna.load_study(study_name=study_name, storage=storage_url)
