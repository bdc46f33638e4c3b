"""What each value of a search space may be: the rule of every key, and what a range must satisfy.

Each rule is checked on every value a distribution can produce (a constant, each choice, a range's
bounds), so a space that parses can only be sampled into values its parameter accepts; relations
between parameters are `space.relations`'.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation, localcontext

from star_search.errors import SpecError, did_you_mean
from star_search.space.schema import Categorical, Distribution, Fixed, FloatRange, IntRange
from star_search.space.target_size import TARGET_KEYS, TOLERANCE_KEY
from star_search.spec import FFN_KINDS, MAX_LAYERS, MAX_SIZE, MIXER_KINDS, is_finite_number

# Global parameters a space may set, by the rule each value must pass.
POSITIVE_INT_PARAMS = ("d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim", "vocab_size",
                       "conv_kernel", "ssm_state_dim", "ssm_expand", "moe_num_experts", "moe_top_k",
                       "moe_expert_dim", "max_seq_len", "ffn_multiple_of")
POSITIVE_FLOAT_PARAMS = ("ffn_ratio", "rope_theta", "norm_eps", "moe_expert_ratio")
BOOL_PARAMS = ("tie_embeddings",)
# A parameter-count target (`space.target_size`): constants under `fixed`, never sampled.
TARGET_COUNT_PARAMS = TARGET_KEYS
TARGET_PARAMS = (*TARGET_KEYS, TOLERANCE_KEY)
MAX_TARGET_PARAMS = 10**13
KNOWN_PARAMS = POSITIVE_INT_PARAMS + POSITIVE_FLOAT_PARAMS + BOOL_PARAMS + TARGET_PARAMS
# Names of the values that are not global parameters: a slot's operators, a group's repeat count.
MIXER, FFN, REPEAT = "mixer", "ffn", "repeat"
# A stepped float range may hold at most this many values (Optuna checks the step with decimals
# of 28 digits; more values than this would not be a meaningful grid anyway).
MAX_FLOAT_STEPS = 10**9
# Builds the error for (field, value, expected); the parser's own adds the file's name.
Fail = Callable[[str, object, str], SpecError]


def value_problem(value: object, name: str) -> str | None:
    """What `value` should be for the parameter or slot key `name`, or None when it is fine."""
    if name in POSITIVE_INT_PARAMS:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIZE:
            return f"a positive integer (at most {MAX_SIZE}) for '{name}'"
        if name == "head_dim" and value % 2:
            return "an even head_dim (RoPE rotates pairs)"
    elif name in POSITIVE_FLOAT_PARAMS:
        if not is_finite_number(value) or value <= 0:  # type: ignore[operator]
            return f"a finite number above 0 for '{name}'"
        if name == "norm_eps" and value >= 1:  # type: ignore[operator]
            return "a norm_eps below 1"
        if name in ("ffn_ratio", "moe_expert_ratio") and value > MAX_SIZE:  # type: ignore[operator]
            return f"a ratio of at most {MAX_SIZE} for '{name}'"
    elif name in TARGET_COUNT_PARAMS:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET_PARAMS:
            return f"a whole number of parameters between 1 and {MAX_TARGET_PARAMS:.0e} for '{name}'"
    elif name == TOLERANCE_KEY:
        if not is_finite_number(value) or not 0 < value < 0.5:  # type: ignore[operator]
            return "a fraction above 0 and below 0.5 for 'target_params_tolerance' (e.g. 0.03)"
    elif name in BOOL_PARAMS:
        if not isinstance(value, bool):
            return f"true or false for '{name}'"
    elif name == MIXER:
        if not isinstance(value, str) or value not in MIXER_KINDS:
            return f"an operator among {list(MIXER_KINDS)}{did_you_mean(value, MIXER_KINDS)}"
    elif name == FFN:
        if not isinstance(value, str) or value not in FFN_KINDS:
            return f"a feed-forward among {list(FFN_KINDS)}{did_you_mean(value, FFN_KINDS)}"
    elif name == REPEAT and (isinstance(value, bool) or not isinstance(value, int)
                             or not 1 <= value <= MAX_LAYERS):
        return f"a whole number of repeats between 1 and {MAX_LAYERS}"
    return None


def check_distribution(fail: Fail, field: str, dist: Distribution, name: str) -> None:
    """Check every value `dist` can produce against the rule of `name`; `field` is where `dist`
    stands in the file (`params.d_model`), `fail(field, value, expected)` builds the error."""
    if name in (MIXER, FFN, *BOOL_PARAMS) and isinstance(dist, IntRange | FloatRange):
        raise fail(field, _range_dict(dist), f"a name or a list of them for '{name}', not a range")
    if name in (*POSITIVE_INT_PARAMS, REPEAT) and isinstance(dist, FloatRange):
        raise fail(field, _range_dict(dist), f"integer low, high and step for '{name}'")
    for where, value in located_values(field, dist):
        problem = value_problem(value, name)
        if problem:
            raise fail(where, value, problem)
    # The rules are bounds, checked at a range's ends, except head_dim's evenness.
    if name == "head_dim" and isinstance(dist, IntRange) and dist.step % 2:
        raise fail(f"{field}.step", dist.step, "an even step (every head_dim even: RoPE rotates pairs)")


def located_values(field: str, dist: Distribution) -> list[tuple[str, object]]:
    """The values of `dist` that bound what it produces, each with its place in the file (`field`
    is where the choices list stands for a categorical: `params.d_model.choices`)."""
    if isinstance(dist, Fixed):
        return [(field, dist.value)]
    if isinstance(dist, Categorical):
        return [(f"{field}[{i}]", choice) for i, choice in enumerate(dist.choices)]
    return [(f"{field}.low", dist.low), (f"{field}.high", dist.high)]


def range_problem(low: float, high: float, step: object, log: bool) -> tuple[str, object, str] | None:
    """What is wrong with a range `{low, high, step, log}` whose bounds are finite numbers, as
    (key, bad value, expected); None when Optuna samples it as written (no silently shrunk range)."""
    if not low < high:
        return "low", low, f"less than high={high} (a single value is written as a constant)"
    if log and low <= 0:
        return "low", low, "above 0 with log: true"
    integer = isinstance(low, int) and isinstance(high, int)
    if step is None or (log and integer and step == 1 and isinstance(step, int)):
        return None
    if log:
        return "step", step, "no step with log: true (Optuna samples a log range without one)"
    if not is_finite_number(step) or step <= 0 or (integer and not isinstance(step, int)):  # type: ignore[operator]
        kind = "an integer" if integer else "a finite number"
        return "step", step, f"{kind} above 0"
    span = high - low
    if step > span:  # type: ignore[operator]
        return "step", step, f"at most high - low = {span}"
    if isinstance(step, int) and integer:
        if span % step:
            return "step", step, f"a divisor of high - low = {span} (Optuna would shrink the range)"
        return None
    if span / step > MAX_FLOAT_STEPS:  # type: ignore[operator]
        return "step", step, f"at least (high - low) / {MAX_FLOAT_STEPS}"
    # Optuna's own test (`distributions._adjust_discrete_uniform_high`): decimal remainder of the
    # shortest reprs; a non-zero remainder would make it lower `high` with only a warning.
    with localcontext() as context:
        context.prec = 28  # Optuna's (Python's default)
        try:
            remainder = (Decimal(str(high)) - Decimal(str(low))) % Decimal(str(step))
        except InvalidOperation:
            remainder = Decimal(1)
    if remainder != 0:
        return "step", step, f"a step that divides high - low = {span} (Optuna would shrink the range)"
    return None


def _range_dict(dist: IntRange | FloatRange) -> dict[str, object]:
    return {"low": dist.low, "high": dist.high, "step": dist.step, "log": dist.log}
