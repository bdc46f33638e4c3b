"""Bearer tokens for the profiler agent: read from a file or an environment variable, never
from a config file or a command line (where they would end up in shell history and logs)."""

from __future__ import annotations

import os
from pathlib import Path

from star_search.errors import ProfileError

MIN_TOKEN_CHARS = 16


def read_token(token_file: str | os.PathLike[str] | None, token_env: str | None,
               field_prefix: str = "agent.") -> str:
    """The token in `token_file` (surrounding whitespace stripped) or in `$token_env`.

    Exactly one source must be given. Errors name the field (`<prefix>token_file` or
    `<prefix>token_env`) and never show the token itself.
    """
    if (token_file is None) == (token_env is None):
        raise ProfileError(f"{field_prefix}token_file", token_file,
                           f"exactly one of {field_prefix}token_file and {field_prefix}token_env")
    if token_file is not None:
        field, where = f"{field_prefix}token_file", str(token_file)
        try:
            token = Path(token_file).expanduser().read_text().strip()
        except OSError as err:
            raise ProfileError(field, where, f"a readable file holding the token ({err.strerror})") from err
    else:
        field, where = f"{field_prefix}token_env", str(token_env)
        token = os.environ.get(str(token_env), "").strip()
        if not token:
            raise ProfileError(field, where, "the name of a set, non-empty environment variable")
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ProfileError(field, where, f"a token of at least {MIN_TOKEN_CHARS} characters without "
                           "spaces (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)")
    return token
