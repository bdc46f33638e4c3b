"""Per-operator times from ExecuTorch's ETDump, read with the devtools Inspector.

The ETDump pass runs after the timed repeats and is never part of the timed figures (tracing
adds its own overhead). The program is loaded twice with ETDump enabled: one copy runs `prefill`
once, the other runs `decode` `decode_steps` times with the state carried, so each ETDump file
holds the events of one method. The Inspector turns events into durations in milliseconds; they
are summed per operator and divided by the number of method calls.

Names: a portable kernel is logged as `native_call_<op>` (e.g. `native_call_cat.out`) and
reported as `<op>`; an XNNPACK operator is logged under the name XNNPACK's profiler gives it
(e.g. `Fully Connected (NC, F32) GEMM #2`) and reported without the ` #N` instance suffix;
`DELEGATE_CALL` is the whole time spent in XNNPACK subgraph calls (so it covers the delegated
operators listed beside it) and is reported as delegated. `OPERATOR_CALL` wraps each portable
kernel call and is skipped, as are method-level events, so nothing is counted twice.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

_INSTANCE_SUFFIX = re.compile(r" #\d+$")
_SKIPPED = ("OPERATOR_CALL",)
_DELEGATE_CALL = "DELEGATE_CALL"
_SKIPPED_PREFIXES = ("Method::", "Program::")
_PORTABLE_PREFIX = "native_call_"


def operator_name(event_name: str) -> str:
    """The reported operator name of an ETDump event name (see the module docstring)."""
    if event_name.startswith(_PORTABLE_PREFIX):
        return event_name[len(_PORTABLE_PREFIX):]
    return _INSTANCE_SUFFIX.sub("", event_name)


def aggregate_events(events: list[tuple[str, bool, list[float]]], method: str,
                     calls: int) -> list[dict[str, Any]]:
    """Sum (event name, delegated, durations in ms) per operator; times are per method call.

    Returns dicts {method, operator, delegated, calls, ms}, slowest first; `calls` counts the
    operator's executions per method call.
    """
    table: dict[tuple[str, bool], dict[str, Any]] = {}
    for name, delegated, durations_ms in events:
        if name in _SKIPPED or name.startswith(_SKIPPED_PREFIXES):
            continue
        key = (operator_name(name), delegated or name == _DELEGATE_CALL)
        row = table.setdefault(key, {"method": method, "operator": key[0], "delegated": delegated,
                                     "calls": 0.0, "ms": 0.0})
        row["calls"] += len(durations_ms) / calls
        row["ms"] += sum(durations_ms) / calls
    rows = sorted(table.values(), key=lambda row: -row["ms"])
    for row in rows:
        row["calls"] = round(row["calls"], 3)
        row["ms"] = round(row["ms"], 6)
    return rows


def read_etdump(etdump_path: Path, method: str, calls: int) -> list[dict[str, Any]]:
    """Operator times of one method from an ETDump file (imports the devtools Inspector)."""
    from executorch.devtools import Inspector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Output Buffer not found": no tensor data was asked for
        inspector = Inspector(etdump_path=str(etdump_path))
    events: list[tuple[str, bool, list[float]]] = []
    for block in inspector.event_blocks:
        if block.name != "Execute":
            continue  # "Default" holds program and method loading
        for event in block.events:
            if event.perf_data is not None:
                events.append((event.name, bool(event.is_delegated_op), list(event.perf_data.raw)))
    return aggregate_events(events, method, calls)


def etdump_operator_times(load_program: Callable[[bool], Any],
                          run_sequence: Callable[[Any, Any], Any],
                          decode_steps: int) -> list[dict[str, Any]]:
    """Run one traced prefill+decode sequence and return the operator times of both methods.

    load_program(enable_etdump) returns an ExecuTorch runtime `Program`; run_sequence(prefill,
    decode) runs one prefill and `decode_steps` decode calls on the given methods.
    """
    prefill_program, decode_program = load_program(True), load_program(True)
    run_sequence(prefill_program.load_method("prefill"), decode_program.load_method("decode"))
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="star-search-etdump-") as folder:
        for method, program, calls in (("prefill", prefill_program, 1),
                                       ("decode", decode_program, decode_steps)):
            etdump_path = Path(folder) / f"{method}.etdp"
            program.write_etdump_result_to_file(str(etdump_path), str(Path(folder) / f"{method}.bin"))
            rows.extend(read_etdump(etdump_path, method, calls))
    return rows
