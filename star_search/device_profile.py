"""Device profiles: which machine to measure on, at which shapes, under which budgets.

Profiles live in `device_profiles/*.yaml`. Every problem is reported as a `ProfileError` naming
the field (e.g. `budgets.decode_p50_ms`), the bad value and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from star_search.errors import ProfileError
from star_search.files import read_yaml
from star_search.spec import FFN_KINDS, MIXER_KINDS

BACKENDS = ("local", "remote", "adb")
DTYPES = ("fp32",)
QUANTIZATIONS = (None, "8da4w")
# The phone-side folder is spliced into `adb shell` command lines: keep it free of shell syntax.
_SAFE_REMOTE_DIR = re.compile(r"/[A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class Shapes:
    prompt_len: int = 64
    decode_steps: int = 32
    context_len: int = 4096
    dtype: str = "fp32"
    quantize: str | None = None
    # Attention on ExecuTorch's LLM custom ops (KV cache as mutable buffers, `llama::custom_sdpa`),
    # as deployed LLM runners lower it; the device's runtime must load those kernels.
    llm_ops: bool = False

    @property
    def max_seq_len(self) -> int:
        """Sequence capacity of the lowered program: prompt plus every decoded token."""
        return self.prompt_len + self.decode_steps


@dataclass(frozen=True)
class Protocol:
    """How each program is timed (see `star_search.profiler.protocol`)."""

    warmup: int = 1
    repeats: int = 3  # timed prefill+decode sequences, at least
    max_repeats: int = 10  # ... and at most, while the run is noisier than cv_target
    cv_target: float = 0.05  # coefficient of variation (TTFT and per-sequence decode medians)
    etdump: bool = False  # per-operator times from ExecuTorch's ETDump (untimed extra pass)
    timeout_s: float = 300.0


@dataclass(frozen=True)
class Target:
    d_model: int | None = None
    vocab_size: int | None = None


@dataclass(frozen=True)
class LatencyTableSettings:
    """How the latency table (`star_search.latency`) is built for this device.

    stack_layers: layers of one kind added to a 1-layer base program to time that kind (more
        layers: a larger, less noisy difference, longer lowering).
    calibration_archs: whole models measured to fit the table's composition correction.
    min_repeats: timed sequences at least for table programs (raises protocol.repeats).
    seed: seed of the calibration architectures drawn from the space.
    """

    stack_layers: int = 4
    calibration_archs: int = 6
    min_repeats: int = 5
    seed: int = 1000


@dataclass(frozen=True)
class Budgets:
    decode_p50_ms: float | None = None
    ttft_ms: float | None = None
    peak_rss_mb: float | None = None
    params: int | None = None
    cache_mb: float | None = None  # KV caches + recurrent state at shapes.context_len, one sequence


@dataclass(frozen=True)
class Agent:
    """Profiler agents for the remote backend: `url` (one) or `urls` (several, used as one pool of
    equivalent machines), the bearer token from `token_env` or `token_file` (never inline), and
    `device`, the device id on each agent (null = the agent's first device)."""

    url: str | None = None
    urls: tuple[str, ...] = ()
    token_env: str | None = None
    token_file: str | None = None
    device: str | None = None

    @property
    def endpoints(self) -> tuple[str, ...]:
        return (self.url,) if self.url else self.urls


@dataclass(frozen=True)
class Adb:
    """An Android phone over adb: `serial` (null = the only attached device), `runner` (host path
    of an arm64 ExecuTorch `executor_runner`, see docs/android_runner.md; null = the path in
    $STAR_SEARCH_ADB_RUNNER), `remote_dir` on the phone, `executable` (the adb program)."""

    serial: str | None = None
    runner: str | None = None
    remote_dir: str = "/data/local/tmp/star_search"
    executable: str = "adb"


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
    latency: LatencyTableSettings = field(default_factory=LatencyTableSettings)
    agent: Agent = field(default_factory=Agent)
    adb: Adb = field(default_factory=Adb)
    cores: tuple[int, ...] | None = None
    # Mixer and feed-forward kinds the device's runtime can run (None = all); the search's
    # static stage prunes candidates that use any other.
    operators: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cores"] = list(self.cores) if self.cores is not None else None
        data["operators"] = list(self.operators) if self.operators is not None else None
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
        what = ("a positive" if minimum >= 0 else "a non-negative") + (" integer" if integer else " number")
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
    latency = _section(raw, "latency", LatencyTableSettings, source)
    agent = _agent_section(raw, source)
    adb = _section(raw, "adb", Adb, source)
    _check_number("threads", raw.get("threads", 1), source, integer=True, optional=False)
    for key in ("prompt_len", "decode_steps", "context_len"):
        _check_number(f"shapes.{key}", getattr(shapes, key), source, integer=True, optional=False)
    if shapes.dtype not in DTYPES:
        raise ProfileError("shapes.dtype", shapes.dtype, f"one of {list(DTYPES)}", source)
    if shapes.quantize not in QUANTIZATIONS:
        raise ProfileError("shapes.quantize", shapes.quantize, f"one of {list(QUANTIZATIONS)}", source)
    if not isinstance(shapes.llm_ops, bool):
        raise ProfileError("shapes.llm_ops", shapes.llm_ops, "true or false", source)
    if shapes.llm_ops and backend == "adb":
        # docs/android_runner.md's executor_runner links no LLM custom-op kernels.
        raise ProfileError("shapes.llm_ops", shapes.llm_ops,
                           "false with backend adb (its executor_runner has no LLM custom ops)", source)
    _check_number("protocol.warmup", protocol.warmup + 1, source, integer=True, optional=False)
    _check_number("protocol.repeats", protocol.repeats, source, integer=True, optional=False)
    _check_number("protocol.max_repeats", protocol.max_repeats, source, integer=True, optional=False)
    if protocol.max_repeats < protocol.repeats:
        raise ProfileError("protocol.max_repeats", protocol.max_repeats,
                           f"an integer >= protocol.repeats ({protocol.repeats})", source)
    _check_number("protocol.cv_target", protocol.cv_target, source, integer=False, optional=False)
    if protocol.cv_target > 1:
        raise ProfileError("protocol.cv_target", protocol.cv_target,
                           "a coefficient of variation in (0, 1], e.g. 0.05", source)
    if not isinstance(protocol.etdump, bool):
        raise ProfileError("protocol.etdump", protocol.etdump, "true or false", source)
    _check_number("protocol.timeout_s", protocol.timeout_s, source, integer=False, optional=False)
    for key in ("d_model", "vocab_size"):
        _check_number(f"target.{key}", getattr(target, key), source, integer=True, optional=True)
    for key in ("decode_p50_ms", "ttft_ms", "peak_rss_mb", "cache_mb"):
        _check_number(f"budgets.{key}", getattr(budgets, key), source, integer=False, optional=True)
    _check_number("budgets.params", budgets.params, source, integer=True, optional=True)
    for key in ("stack_layers", "min_repeats"):
        _check_number(f"latency.{key}", getattr(latency, key), source, integer=True, optional=False)
    _check_number("latency.calibration_archs", latency.calibration_archs, source, integer=True,
                  optional=False, minimum=-1)
    if isinstance(latency.seed, bool) or not isinstance(latency.seed, int):
        raise ProfileError("latency.seed", latency.seed, "an integer", source)
    if backend == "remote":
        _check_remote(agent, source)
    cores = raw.get("cores")
    if cores is not None and (not isinstance(cores, list) or not cores
                              or not all(isinstance(c, int) and c >= 0 for c in cores)):
        raise ProfileError("cores", cores, "a non-empty list of CPU indices or null", source)
    if backend == "adb":
        _check_adb(adb, cores, raw.get("threads", 1), source)
    operators = raw.get("operators")
    if operators is not None:
        kinds = list(MIXER_KINDS) + list(FFN_KINDS)
        if not isinstance(operators, list) or not operators:
            raise ProfileError("operators", operators, f"a non-empty list from {kinds} or null", source)
        for index, kind in enumerate(operators):
            if kind not in kinds:
                raise ProfileError(f"operators[{index}]", kind, f"one of {kinds}", source)
    return DeviceProfile(name=raw["name"], backend=backend, description=str(raw.get("description", "")),
                         threads=raw.get("threads", 1), shapes=shapes, protocol=protocol,
                         target=target, budgets=budgets, latency=latency, agent=agent, adb=adb,
                         cores=tuple(cores) if cores is not None else None,
                         operators=tuple(operators) if operators is not None else None)


def _agent_section(raw: dict[str, Any], source: str) -> Agent:
    body = raw.get("agent", {}) or {}
    if isinstance(body, dict) and "token" in body:
        # Never echo the value: it is a secret that should not be in the file at all.
        raise ProfileError("agent.token", "<hidden>", "no token inline: put it in a file named by "
                           "agent.token_file or in an environment variable named by agent.token_env",
                           source)
    urls = body.get("urls") if isinstance(body, dict) else None
    if urls is not None and (not isinstance(urls, list) or not all(isinstance(u, str) for u in urls)):
        raise ProfileError("agent.urls", urls, "a list of agent URLs", source)
    agent = _section(raw, "agent", Agent, source)
    return replace(agent, urls=tuple(urls or ()))


def _check_remote(agent: Agent, source: str) -> None:
    if agent.url and agent.urls:
        raise ProfileError("agent.urls", list(agent.urls), "either agent.url or agent.urls, not both",
                           source)
    if not agent.endpoints:
        raise ProfileError("agent.url", agent.url, "the agent's URL (or agent.urls: a list of them) "
                           "for the remote backend", source)
    for index, url in enumerate(agent.endpoints):
        name = "agent.url" if agent.url else f"agent.urls[{index}]"
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ProfileError(name, url, "an http:// or https:// URL", source)
    if (agent.token_env is None) == (agent.token_file is None):
        raise ProfileError("agent.token_env", agent.token_env, "exactly one of agent.token_env (an "
                           "environment variable) and agent.token_file (a file) for the bearer token",
                           source)
    for name in ("token_env", "token_file", "device"):
        value = getattr(agent, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ProfileError(f"agent.{name}", value, "a non-empty string or null", source)


def _check_adb(adb: Adb, cores: object, threads: object, source: str) -> None:
    if cores is None:
        raise ProfileError("cores", cores, "the phone's big-core CPU ids to pin to, e.g. [4, 5, 6, 7]",
                           source)
    if isinstance(threads, int) and isinstance(cores, list) and threads > len(cores):
        raise ProfileError("threads", threads, f"at most the {len(cores)} pinned cores {cores}", source)
    if not isinstance(adb.remote_dir, str) or not _SAFE_REMOTE_DIR.fullmatch(adb.remote_dir):
        raise ProfileError("adb.remote_dir", adb.remote_dir,
                           "an absolute path of letters, digits, '.', '_', '-' and '/'", source)
    for name in ("serial", "runner"):
        value = getattr(adb, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ProfileError(f"adb.{name}", value, "a non-empty string or null", source)


def load_profile(path: str | Path) -> DeviceProfile:
    path = Path(path)
    return parse_profile(read_yaml(path, "device", ProfileError), source=str(path))
