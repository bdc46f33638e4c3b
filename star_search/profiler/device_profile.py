"""Device profiles: which machine to measure on, at which shapes, under which budgets.

Profiles live in `device_profiles/*.yaml` and are parsed once, here, into the objects the rest of
the toolkit takes as they are: `profile.shapes.program` (the `ProgramShapes` every program is
lowered for), `profile.shapes.quantize`, `profile.protocol` (the `MeasurementProtocol` every
measurement follows) and `profile.backend_settings` (the section of the chosen backend, parsed
by that backend's own module, see `profiler.backends`). Every problem is reported as a
`ProfileError` naming the field (e.g. `budgets.decode_p50_ms`), the bad value and what was
expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from star_search.errors import ProfileError, SpecError, no_such_key, one_of
from star_search.files import read_yaml
from star_search.profiler.backends import BACKENDS, backend_kind
from star_search.profiler.protocol import MeasurementProtocol
from star_search.scaling import Target
from star_search.sections import parse_section, section_body
from star_search.shapes import ProgramShapes, check_quantize
from star_search.spec import FFN_KINDS, MAX_LAYERS, MAX_SIZE, MIXER_KINDS, check_size, is_finite_number

# The protocol's fields that come from elsewhere in the profile (threads, shapes), not `protocol:`.
_PROTOCOL_FROM_PROFILE = ("threads", "prompt_len", "decode_steps")
DEFAULT_CONTEXT_LEN = 4096
# CPU ids a profile may pin to: Linux is built for at most 8192 CPUs (CONFIG_NR_CPUS).
MAX_CPUS = 8192


@dataclass(frozen=True)
class Shapes:
    """The profile's `shapes` section. program: what every program is lowered for (prompt_len;
    max_seq_len = prompt plus every decode step; dtype, dynamic_prompt, llm_ops);
    decode_steps: tokens decoded (and timed) after the prompt; context_len: tokens at which
    memory is budgeted; quantize: weight quantization scheme (None or `shapes.QUANTIZATIONS`)."""

    program: ProgramShapes
    decode_steps: int
    context_len: int = DEFAULT_CONTEXT_LEN
    quantize: str | None = None

    @classmethod
    def parse(cls, body: object) -> Shapes:
        mapping = dict(section_body(body, "shapes"))
        defaults = MeasurementProtocol()
        program_keys = {f.name for f in fields(ProgramShapes)} - {"max_seq_len"}
        allowed = sorted(program_keys | {"decode_steps", "context_len", "quantize"})
        for key in mapping:
            if not isinstance(key, str) or key not in allowed:
                raise SpecError(f"shapes.{key}", mapping[key], no_such_key(key, allowed))
        decode_steps = check_size(mapping.pop("decode_steps", defaults.decode_steps), "shapes.decode_steps")
        context_len = check_size(mapping.pop("context_len", DEFAULT_CONTEXT_LEN), "shapes.context_len")
        quantize = check_quantize(mapping.pop("quantize", None))
        prompt_len = check_size(mapping.pop("prompt_len", defaults.prompt_len), "shapes.prompt_len")
        if prompt_len + decode_steps > MAX_SIZE:
            raise SpecError("shapes.decode_steps", decode_steps,
                            f"prompt_len + decode_steps at most {MAX_SIZE} tokens")
        program = ProgramShapes(prompt_len=prompt_len, max_seq_len=prompt_len + decode_steps, **mapping)
        return cls(program, decode_steps, context_len, quantize)

    @property
    def prompt_len(self) -> int:
        return self.program.prompt_len

    @property
    def max_seq_len(self) -> int:
        """Sequence capacity of the lowered program: prompt plus every decoded token."""
        return self.program.max_seq_len

    def to_dict(self) -> dict[str, Any]:
        program = {k: v for k, v in asdict(self.program).items() if k != "max_seq_len"}
        return {**program, "decode_steps": self.decode_steps, "context_len": self.context_len,
                "quantize": self.quantize}


@dataclass(frozen=True)
class LatencyTableSettings:
    """How the latency table (`star_search.latency`) is built for this device.

    stack_layers: layers of one kind added to a 1-layer base program to time that kind (more
        layers: a larger, less noisy difference, longer lowering).
    calibration_archs: whole models measured to fit the table's composition correction.
    min_repeats: timed sequences at least for table programs, per round (raises protocol.repeats).
    rounds: rounds the table programs of a build, and the calibration models, are measured in,
        taken in turn (raises protocol.rounds): on a shared machine whose speed changes from
        minute to minute, programs timed minutes apart do not add up (see `protocol.py`).
    seed: seed of the calibration architectures drawn from the space.
    """

    stack_layers: int = 4
    calibration_archs: int = 6
    min_repeats: int = 5
    rounds: int = 3
    seed: int = 1000

    def __post_init__(self) -> None:
        for name in ("stack_layers", "min_repeats", "rounds"):
            check_size(getattr(self, name), f"latency.{name}")
        check_size(self.calibration_archs, "latency.calibration_archs", minimum=0)
        if self.stack_layers + 1 > MAX_LAYERS:
            raise SpecError("latency.stack_layers", self.stack_layers, f"at most {MAX_LAYERS - 1} layers")
        # Seeds Optuna's samplers, hence numpy's generator: 0 to 2**32 - 1.
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise SpecError("latency.seed", self.seed, f"an integer between 0 and {2**32 - 1}")


@dataclass(frozen=True)
class Budgets:
    """Hard limits (None = no limit): decode step and time to first token in ms, peak RSS and KV
    cache plus recurrent state at shapes.context_len (one sequence) in MiB, parameters.

    relative_to: an architecture (preset name or arch.json path) whose own figures the time
    budgets are. A search then times every candidate in the same rounds as it and reads the
    candidate's times relative to it (`profiler/anchor.py`), so a budget holds however the
    machine's speed drifts between the day it was measured and the day of the search."""

    decode_p50_ms: float | None = None
    ttft_ms: float | None = None
    peak_rss_mb: float | None = None
    params: int | None = None
    cache_mb: float | None = None
    relative_to: str | None = None

    def __post_init__(self) -> None:
        if self.relative_to is not None:
            if not isinstance(self.relative_to, str) or not self.relative_to.strip():
                raise SpecError("budgets.relative_to", self.relative_to,
                                "a preset name or an arch.json path, or null")
            if self.ttft_ms is None or self.decode_p50_ms is None:
                raise SpecError("budgets.relative_to", self.relative_to,
                                "budgets.ttft_ms and budgets.decode_p50_ms set too (that architecture's own "
                                "measured figures, which candidates are read relative to)")
        for f in fields(self):
            if f.name == "relative_to":
                continue
            value = getattr(self, f.name)
            integer = f.name == "params"
            kinds: tuple[type, ...] = (int,) if integer else (int, float)
            if value is not None and (not isinstance(value, kinds) or not is_finite_number(value)
                                      or value <= 0):
                raise SpecError(f"budgets.{f.name}", value,
                                f"a finite positive {'integer' if integer else 'number'} or null")


def _check_target(target: Target) -> Target:
    for name in ("d_model", "vocab_size"):
        value = getattr(target, name)
        if value is not None:
            check_size(value, f"target.{name}")
    return target


@dataclass(frozen=True)
class DeviceProfile:
    """A parsed device profile (see the module docstring); build one with `parse_profile`."""

    name: str
    shapes: Shapes
    protocol: MeasurementProtocol
    backend: str = "local"
    description: str = ""
    threads: int = 1
    target: Target = field(default_factory=Target)
    budgets: Budgets = field(default_factory=Budgets)
    latency: LatencyTableSettings = field(default_factory=LatencyTableSettings)
    backend_settings: Any = None
    cores: tuple[int, ...] | None = None
    # Mixer and feed-forward kinds the device's runtime can run (None = all); the search's
    # static stage prunes candidates that use any other.
    operators: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The profile as its YAML document would state it (every default filled in)."""
        data: dict[str, Any] = {
            "name": self.name, "backend": self.backend, "description": self.description,
            "threads": self.threads, "shapes": self.shapes.to_dict(),
            "protocol": {k: v for k, v in self.protocol.to_dict().items() if k not in _PROTOCOL_FROM_PROFILE},
            "target": asdict(self.target), "budgets": asdict(self.budgets), "latency": asdict(self.latency),
            "cores": list(self.cores) if self.cores is not None else None,
            "operators": list(self.operators) if self.operators is not None else None,
        }
        section = BACKENDS[self.backend].section
        if section is not None:
            data[section] = asdict(self.backend_settings)
        return data


def _top_level_keys() -> list[str]:
    own = {f.name for f in fields(DeviceProfile)} - {"backend_settings"}
    return sorted(own | {kind.section for kind in BACKENDS.values() if kind.section})


def _cores(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise SpecError("cores", value, "a non-empty list of CPU indices or null")
    seen: set[int] = set()
    for index, core in enumerate(value):
        if isinstance(core, bool) or not isinstance(core, int) or not 0 <= core < MAX_CPUS:
            raise SpecError(f"cores[{index}]", core, f"a CPU index from 0 to {MAX_CPUS - 1}")
        if core in seen:
            raise SpecError(f"cores[{index}]", core, "a CPU index not already listed")
        seen.add(core)
    return tuple(value)


def _operators(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    kinds = list(MIXER_KINDS) + list(FFN_KINDS)
    if not isinstance(value, list) or not value:
        raise SpecError("operators", value, f"a non-empty list from {kinds} or null")
    for index, kind in enumerate(value):
        if not isinstance(kind, str) or kind not in kinds:
            raise SpecError(f"operators[{index}]", kind, one_of(kind, kinds))
    return tuple(value)


def _parse(raw: object) -> DeviceProfile:
    if not isinstance(raw, Mapping):
        raise SpecError("profile", raw, "a mapping")
    allowed = _top_level_keys()
    for key in raw:
        if not isinstance(key, str) or key not in allowed:
            raise SpecError(str(key), raw[key], no_such_key(key, allowed))
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError("name", name, "a non-empty string")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise SpecError("description", description, "a string or null")
    backend = raw.get("backend", "local")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise SpecError("backend", backend, one_of(backend, sorted(BACKENDS)))
    kind = backend_kind(backend)
    for other in BACKENDS.values():
        if other.section and other.section != kind.section and raw.get(other.section) is not None:
            raise SpecError(other.section, raw[other.section],
                            f"no '{other.section}' section with backend {kind.name} "
                            f"(it configures backend {other.name})")
    threads = check_size(raw.get("threads", 1), "threads")
    shapes = Shapes.parse(raw.get("shapes"))
    protocol = parse_section(MeasurementProtocol, raw.get("protocol"), "protocol",
                             exclude=_PROTOCOL_FROM_PROFILE)
    profile = DeviceProfile(
        name=name, backend=kind.name, description=description or "", threads=threads,
        shapes=shapes,
        protocol=protocol.with_shapes(threads, shapes.prompt_len, shapes.decode_steps),
        target=_check_target(parse_section(Target, raw.get("target"), "target")),
        budgets=parse_section(Budgets, raw.get("budgets"), "budgets"),
        latency=parse_section(LatencyTableSettings, raw.get("latency"), "latency"),
        backend_settings=kind.parse(section_body(raw.get(kind.section), kind.section or "")),
        cores=_cores(raw.get("cores")), operators=_operators(raw.get("operators")))
    if profile.cores is not None and threads > len(profile.cores):
        raise SpecError("threads", threads, f"at most the {len(profile.cores)} cores listed in "
                        f"'cores' {list(profile.cores)} (one thread per pinned core)")
    kind.check(profile)
    return profile


def parse_profile(raw: object, source: str = "<memory>") -> DeviceProfile:
    """Validate a loaded YAML document and build a `DeviceProfile`."""
    try:
        return _parse(raw)
    except SpecError as err:
        raise ProfileError(err.field, err.value, err.expected, source) from None


def with_changes(profile: DeviceProfile, changes: Mapping[str, Any]) -> DeviceProfile:
    """`profile` with `changes` merged into its document and parsed again, so every derived object
    (program shapes, protocol) follows: a mapping updates that section key by key (`{"shapes":
    {"prompt_len": 16}}`), any other value replaces the key (`{"threads": 1}`)."""
    document = profile.to_dict()
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    return parse_profile(document, source=f"{profile.name} with changes {dict(changes)}")


def load_profile(path: str | Path) -> DeviceProfile:
    path = Path(path)
    return parse_profile(read_yaml(path, "device", ProfileError), source=str(path))
