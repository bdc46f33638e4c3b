"""`arch.json` cannot crash its reader: whatever the file holds, `ArchSpec.from_json` / `from_dict`
(and `resolve_arch`, how commands load one) return a valid spec or raise `SpecError` naming the field.

Random values go at every key path of the presets' arch.json (dense and MoE), random keys beside
them, and whole random documents and texts. The default tier runs a bounded number of examples;
the slow tier many more.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import fuzzing
import pytest
from fuzzing import TIERS, tier
from hypothesis import given
from hypothesis import strategies as st

from star_search.commands.architectures import resolve_arch
from star_search.errors import SpecError, StarSearchError
from star_search.presets import preset
from star_search.spec import FFN_KINDS, MIXER_KINDS, ArchSpec

PRESET_DICTS = {name: preset(name).to_dict() for name in ("lfm2-350m", "lfm2-8b-a1b")}
KEYS = [*PRESET_DICTS["lfm2-350m"], "mixer", "ffn", "d_modle", "atention"]
WORDS = [*MIXER_KINDS, *FFN_KINDS, "atention", "mamba3", "", "64"]

numbers = fuzzing.numbers()
scalars = fuzzing.scalars(numbers, WORDS)
junk = fuzzing.nested(scalars, KEYS)


def mutated() -> st.SearchStrategy[Any]:
    """A preset's arch.json mapping with one to three values replaced, keys removed or added."""
    return fuzzing.mutated(PRESET_DICTS, st.one_of(junk, st.sampled_from(WORDS), numbers), KEYS)


def read_or_named_error(read: Any, *args: Any) -> ArchSpec | None:
    """`read(*args)`; a StarSearchError must be a SpecError naming its field, anything else fails."""
    try:
        spec = read(*args)
    except StarSearchError as err:
        assert isinstance(err, SpecError), err
        assert isinstance(err.field, str) and err.field and f"field '{err.field}'" in str(err), err
        return None
    assert isinstance(spec, ArchSpec)
    again = ArchSpec.from_json(spec.to_json())
    assert again == spec and again.arch_id == spec.arch_id
    return spec


@pytest.mark.parametrize("examples", TIERS)
def test_random_values_at_every_key_of_a_preset(examples: int) -> None:
    @tier(examples)
    @given(mutated())
    def check(document: Any) -> None:
        read_or_named_error(ArchSpec.from_dict, document)
        try:
            text = json.dumps(document)
        except (TypeError, ValueError):  # a non-string key JSON cannot hold, or an int too long to print
            return
        read_or_named_error(ArchSpec.from_json, text)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_whole_documents_and_texts(examples: int) -> None:
    @tier(examples)
    @given(st.one_of(junk, st.text(max_size=40), st.sampled_from(["[" * 100_000, "1" * 5000, "NaN", ""])))
    def check(document: Any) -> None:
        if isinstance(document, str):
            read_or_named_error(ArchSpec.from_json, document)
        read_or_named_error(ArchSpec.from_dict, document)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_resolve_arch_reads_any_file(tmp_path: Path, examples: int) -> None:
    """How commands load an arch.json: a file of any bytes is a spec or a named error."""
    path = tmp_path / "arch.json"

    @tier(examples // 2)
    @given(st.one_of(st.binary(max_size=40), mutated().map(lambda d: json.dumps(d, default=str).encode())))
    def check(content: bytes) -> None:
        path.write_bytes(content)
        read_or_named_error(resolve_arch, str(path), "arch")

    check()


@pytest.mark.parametrize(("change", "field", "hint"), [
    ({"rope_theta": "x"}, "rope_theta", "finite number"),
    ({"rope_theta": 10**400}, "rope_theta", "finite number"),
    ({"norm_eps": math.nan}, "norm_eps", "finite number"),
    ({"tie_embeddings": 1}, "tie_embeddings", "true or false"),
    ({"d_model": True}, "d_model", "positive integer"),
    ({"d_model": 2**31}, "d_model", "at most"),
    ({"name": 3}, "name", "a string"),
    ({"format_version": True}, "format_version", "1"),
    ({"d_modle": 64}, "d_modle", "did you mean 'd_model'?"),
    ({"layers": [{"mixer": "atention"}]}, "layers[0].mixer", "did you mean 'attention'?"),
    ({"layers": [{"mixer": "conv", "fnn": "moe"}]}, "layers[0].fnn", "did you mean 'ffn'?"),
    ({"layers": [{"mixer": ["conv"]}]}, "layers[0].mixer", "one of"),
    ({"layers": []}, "layers", "between 1 and"),
    ({"n_kv_heads": 3}, "n_kv_heads", "divisor of n_heads"),
    ({"moe_top_k": 65}, "moe_top_k", "between 1 and moe_num_experts"),
])
def test_known_escapes_are_named(change: dict[str, Any], field: str, hint: str) -> None:
    document = {**PRESET_DICTS["lfm2-8b-a1b"], **change}
    with pytest.raises(SpecError) as caught:
        ArchSpec.from_dict(document)
    assert caught.value.field == field, caught.value
    assert hint in str(caught.value)


def test_missing_field_and_unreadable_file_are_named(tmp_path: Path) -> None:
    document = dict(PRESET_DICTS["lfm2-350m"])
    del document["n_heads"]
    with pytest.raises(SpecError, match=r"'n_heads'.*required"):
        ArchSpec.from_dict(document)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(SpecError, match="'preset'"):
        resolve_arch(str(tmp_path / "dir.json"), "preset")
    (tmp_path / "bytes.json").write_bytes(b"\xff\xfe")
    with pytest.raises(SpecError, match="'preset'"):
        resolve_arch(str(tmp_path / "bytes.json"), "preset")
    with pytest.raises(SpecError, match="did you mean 'lfm2-350m'"):
        resolve_arch("lfm2-350", "preset")
