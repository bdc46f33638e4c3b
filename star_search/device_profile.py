"""Device profiles: which machine to measure on, at which shapes, under which budgets.

Profiles live in `device_profiles/*.yaml`. Every problem is reported as a `ProfileError` naming
the field (e.g. `budgets.decode_p50_ms`), the bad value and what was expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from star_search.errors import ProfileError
from star_search.files import read_yaml

BACKENDS = ("local", "remote", "adb")
DTYPES = ("fp32",)
QUANTIZATIONS = (None, "8da4w")


@dataclass(frozen=True)
class Shapes:
    prompt_len: int = 64
    decode_steps: int = 32
    context_len: int = 4096
    dtype: str = "fp32"
    quantize: str | None = None

    @property
    def max_seq_len(self) -> int:
        """Sequence capacity of the lowered program: prompt plus every decoded token."""
        return self.prompt_len + self.decode_steps


@dataclass(frozen=True)
class Protocol:
    warmup: int = 1
    repeats: int = 3
    timeout_s: float = 300.0


@dataclass(frozen=True)
class Target:
    d_model: int | None = None
    vocab_size: int | None = None


@dataclass(frozen=True)
class Budgets:
    decode_p50_ms: float | None = None
    ttft_ms: float | None = None
    peak_rss_mb: float | None = None
    params: int | None = None


@dataclass(frozen=True)
class Agent:
    url: str | None = None
    token_env: str | None = None
    token_file: str | None = None


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    backend: str = "local"
    description: str = ""
    threads: int = 1
    shapes: Shapes = field(default_factory=Shapes)
    protocol: Protocol = field(default_factory=Protocol)
    target: Target = field(default_factory=Target)
    budgets: Budgets = field(default_factory=Budgets)
    agent: Agent = field(default_factory=Agent)
    cores: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cores"] = list(self.cores) if self.cores is not None else None
        return data


def _section(raw: dict[str, Any], name: str, cls: type, source: str) -> Any:
    body = raw.get(name, {}) or {}
    if not isinstance(body, dict):
        raise ProfileError(name, body, "a mapping", source)
    allowed = set(cls.__dataclass_fields__)
    for key in body:
        if key not in allowed:
            raise ProfileError(f"{name}.{key}", body[key], f"one of {sorted(allowed)}", source)
    return cls(**body)


def _check_number(field_name: str, value: object, source: str, integer: bool, optional: bool,
                  minimum: float = 0.0) -> None:
    if value is None and optional:
        return
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= minimum:
        what = "a positive integer" if integer else "a positive number"
        raise ProfileError(field_name, value, what + (" or null" if optional else ""), source)


def parse_profile(raw: object, source: str = "<memory>") -> DeviceProfile:
    """Validate a loaded YAML document and build a `DeviceProfile`."""
    if not isinstance(raw, dict):
        raise ProfileError("profile", raw, "a mapping", source)
    allowed = set(DeviceProfile.__dataclass_fields__)
    for key in raw:
        if key not in allowed:
            raise ProfileError(key, raw[key], f"one of {sorted(allowed)}", source)
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ProfileError("name", raw.get("name"), "a non-empty string", source)
    backend = raw.get("backend", "local")
    if backend not in BACKENDS:
        raise ProfileError("backend", backend, f"one of {list(BACKENDS)}", source)
    shapes = _section(raw, "shapes", Shapes, source)
    protocol = _section(raw, "protocol", Protocol, source)
    target = _section(raw, "target", Target, source)
    budgets = _section(raw, "budgets", Budgets, source)
    agent = _section(raw, "agent", Agent, source)
    _check_number("threads", raw.get("threads", 1), source, integer=True, optional=False)
    for key in ("prompt_len", "decode_steps", "context_len"):
        _check_number(f"shapes.{key}", getattr(shapes, key), source, integer=True, optional=False)
    if shapes.dtype not in DTYPES:
        raise ProfileError("shapes.dtype", shapes.dtype, f"one of {list(DTYPES)}", source)
    if shapes.quantize not in QUANTIZATIONS:
        raise ProfileError("shapes.quantize", shapes.quantize, f"one of {list(QUANTIZATIONS)}", source)
    _check_number("protocol.warmup", protocol.warmup + 1, source, integer=True, optional=False)
    _check_number("protocol.repeats", protocol.repeats, source, integer=True, optional=False)
    _check_number("protocol.timeout_s", protocol.timeout_s, source, integer=False, optional=False)
    for key in ("d_model", "vocab_size"):
        _check_number(f"target.{key}", getattr(target, key), source, integer=True, optional=True)
    for key in ("decode_p50_ms", "ttft_ms", "peak_rss_mb"):
        _check_number(f"budgets.{key}", getattr(budgets, key), source, integer=False, optional=True)
    _check_number("budgets.params", budgets.params, source, integer=True, optional=True)
    if backend == "remote" and not agent.url:
        raise ProfileError("agent.url", agent.url, "the agent's URL for the remote backend", source)
    cores = raw.get("cores")
    if cores is not None and (not isinstance(cores, list)
                              or not all(isinstance(c, int) and c >= 0 for c in cores)):
        raise ProfileError("cores", cores, "a list of CPU indices or null", source)
    return DeviceProfile(name=raw["name"], backend=backend, description=str(raw.get("description", "")),
                         threads=raw.get("threads", 1), shapes=shapes, protocol=protocol,
                         target=target, budgets=budgets, agent=agent,
                         cores=tuple(cores) if cores is not None else None)


def load_profile(path: str | Path) -> DeviceProfile:
    path = Path(path)
    return parse_profile(read_yaml(path, "device", ProfileError), source=str(path))
