"""Device profiles cannot crash their parser: whatever a profile holds (every section, the
backends' own included), parsing returns a `DeviceProfile` or raises `ProfileError` naming the field.

Random values go at every key path of the shipped profiles (local, remote, adb), random keys beside
them, and whole random documents; the protocol is fuzzed on its own as well (it also arrives over
the wire, `MeasurementProtocol.from_dict`). The default tier runs a bounded number of examples; the
slow tier many more.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import fuzzing
import pytest
import yaml
from fuzzing import TIERS, tier
from hypothesis import given
from hypothesis import strategies as st

from star_search.errors import ProfileError, SpecError, StarSearchError
from star_search.profiler.device_profile import DeviceProfile, load_profile, parse_profile, with_changes
from star_search.profiler.protocol import MeasurementProtocol

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {path.stem: yaml.safe_load(path.read_text())
           for path in sorted((ROOT / "device_profiles").glob("*.yaml"))}
SOURCE = "property.yaml"
KEYS = sorted({key for document in SHIPPED.values() for key in document}
              | {key for document in SHIPPED.values() for section in document.values()
                 if isinstance(section, dict) for key in section}
              | {"url", "token", "token_file", "thread", "protocl", "dynamic_prompt"})
WORDS = ["local", "remote", "adb", "fp32", "8da4w", "conv", "moe", "http://127.0.0.1:1", "/data/x", "",
         "lcoal", "STAR_SEARCH_AGENT_TOKEN"]

numbers = fuzzing.numbers(floats=[0.05, 1.0])
scalars = fuzzing.scalars(numbers, WORDS)
junk = fuzzing.nested(scalars, KEYS)


def mutated() -> st.SearchStrategy[Any]:
    """A shipped profile with one to three values replaced, keys removed or keys added."""
    return fuzzing.mutated(SHIPPED, junk, KEYS)


def parse_or_named_error(document: Any) -> DeviceProfile | None:
    try:
        profile = parse_profile(document, source=SOURCE)
    except StarSearchError as err:
        assert isinstance(err, ProfileError), err
        assert isinstance(err.field, str) and err.field and f"field '{err.field}'" in str(err), err
        assert SOURCE in str(err)
        return None
    # A parsed profile states itself as a document that parses back to the same profile.
    assert with_changes(profile, {}) == profile
    return profile


@pytest.mark.parametrize("examples", TIERS)
def test_random_values_at_every_key_of_the_shipped_profiles(examples: int) -> None:
    @tier(examples)
    @given(mutated())
    def check(document: Any) -> None:
        parse_or_named_error(document)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_whole_documents(examples: int) -> None:
    @tier(examples)
    @given(junk)
    def check(document: Any) -> None:
        parse_or_named_error(document)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_protocols(examples: int) -> None:
    fields = sorted(MeasurementProtocol.__dataclass_fields__)

    @tier(examples)
    @given(st.dictionaries(st.one_of(st.sampled_from(fields), st.text(max_size=5)), junk, max_size=4))
    def check(data: dict[Any, Any]) -> None:
        try:
            protocol = MeasurementProtocol.from_dict(data)
        except SpecError as err:
            assert err.field.startswith("protocol"), err
            return
        assert MeasurementProtocol.from_dict(protocol.to_dict()) == protocol

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_yaml_files(tmp_path: Path, examples: int) -> None:
    path = tmp_path / "device.yaml"

    awkward = [b"name: x\nthreads: " + b"9" * 5000, b"[" * 5000, b"name: a\nname: b\n", b"&a [*a]",
               b"name: x\nshapes: &s {prompt_len: *s}\n"]

    @tier(examples // 2)
    @given(st.one_of(st.binary(max_size=40), st.text(max_size=60).map(str.encode), st.sampled_from(awkward),
                     mutated().map(lambda document: yaml.safe_dump(document).encode())))
    def check(content: bytes) -> None:
        path.write_bytes(content)
        try:
            load_profile(path)
        except ProfileError as err:
            assert err.field

    check()


@pytest.mark.parametrize(("section", "change", "field", "hint"), [
    ("protocol", {"warmup": ["x"]}, "protocol.warmup", "integer"),
    ("protocol", {"warmup": None}, "protocol.warmup", "integer"),
    ("protocol", {"repeats": {}}, "protocol.repeats", "integer"),
    ("protocol", {"repeats": True}, "protocol.repeats", "integer"),
    ("protocol", {"max_repeats": 2**40}, "protocol.max_repeats", "at most"),
    ("protocol", {"cv_target": math.nan}, "protocol.cv_target", "(0, 1]"),
    ("protocol", {"cv_target": None}, "protocol.cv_target", "(0, 1]"),
    ("protocol", {"timeout_s": math.inf}, "protocol.timeout_s", "finite"),
    ("protocol", {"timeout_s": [1]}, "protocol.timeout_s", "finite"),
    ("protocol", {"etdump": 0}, "protocol.etdump", "true or false"),
    ("protocol", {"repets": 3}, "protocol.repets", "did you mean 'repeats'?"),
    ("budgets", {"ttft_ms": math.nan}, "budgets.ttft_ms", "finite"),
    ("budgets", {"params": 10**400}, "budgets.params", "finite"),
    ("latency", {"seed": -1}, "latency.seed", "between 0 and"),
    ("latency", {"seed": 2**32}, "latency.seed", "between 0 and"),
    ("latency", {"stack_layers": 10**9}, "latency.stack_layers", "at most"),
    ("shapes", {"prompt_len": 10**30}, "shapes.prompt_len", "at most"),
    ("shapes", {"promt_len": 8}, "shapes.promt_len", "did you mean 'prompt_len'?"),
    ("target", {"d_model": 2**40}, "target.d_model", "at most"),
    ("", {"backend": "lcoal"}, "backend", "did you mean 'local'?"),
    ("", {"thread": 2}, "thread", "did you mean 'threads'?"),
    ("", {"threads": 4, "cores": [0, 1]}, "threads", "at most the 2 cores"),
    ("", {"cores": [0, 0]}, "cores[1]", "not already listed"),
    ("", {"cores": [10**30]}, "cores[0]", "CPU index"),
    ("", {"description": ["x"]}, "description", "a string"),
    ("", {"operators": ["atention"]}, "operators[0]", "did you mean 'attention'?"),
])
def test_known_escapes_are_named(section: str, change: dict[str, Any], field: str, hint: str) -> None:
    document = copy.deepcopy(SHIPPED["laptop_cpu"])
    (document[section] if section else document).update(change)
    with pytest.raises(ProfileError) as caught:
        parse_profile(document, source=SOURCE)
    assert caught.value.field == field, caught.value
    assert hint in str(caught.value)
