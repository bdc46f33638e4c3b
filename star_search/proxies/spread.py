"""How far a proxy tier's quality moves when only the seed changes, by depth: measured, not assumed.

Two runs of one candidate that differ only in the seed (initialisation and data order) give two
qualities; `benchmarks/proxy_fidelity.py` repeats every pattern of its shallow (2–6 layers) and
deep (12–24 layers) sets at several seeds and `measure_spread` pools those repeats into the
standard deviation of one run's quality, per tier recipe and depth band. The result ships as
`seed_spread.json` beside this module (`benchmarks/proxy_fidelity.py --write-spread` rewrites
it), and `expected_spread` reads it for one candidate: the band holding its depth, linear
interpolation between bands, the nearest band beyond them (said so in `basis`). A recipe that was
never repeated (custom steps, width, tasks) has no expected spread: None, never a guess.

Two qualities differ by more than noise when their gap exceeds z·sqrt(sd₁² + sd₂²) (the spread
of a difference of independent runs); the search's front gate uses that margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from star_search.errors import SpecError
from star_search.proxies.config import ProxyConfig

SPREAD_FILE = "seed_spread.json"
# Fields that do not define a recipe: what a run is called, which repeat it is, and where it ran.
NOT_RECIPE = ("tier", "seed", "threads", "device")


def recipe(config: ProxyConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The training recipe of a config (`ProxyConfig` or its `to_dict()`): every field but
    `NOT_RECIPE`, as canonical JSON-safe values."""
    data = config.to_dict() if isinstance(config, ProxyConfig) else ProxyConfig(**config).to_dict()
    return {key: value for key, value in sorted(data.items()) if key not in NOT_RECIPE}


def recipe_key(config: ProxyConfig | Mapping[str, Any]) -> str:
    """`recipe(config)` as canonical JSON: the key of the spread table and of `Repeat.recipe`."""
    return json.dumps(recipe(config), sort_keys=True)


@dataclass(frozen=True)
class SpreadBand:
    """One fidelity set's measurement: patterns of `min_layers`–`max_layers` layers, each run at
    `seeds`; sd: the pooled standard deviation of one run's quality (`dof` degrees of freedom)."""

    set: str
    min_layers: int
    max_layers: int
    sd: float
    patterns: int
    seeds: tuple[int, ...]
    dof: int
    measured: str

    def describe(self) -> str:
        seeds = f"seeds {self.seeds[0]}–{self.seeds[-1]}" if len(self.seeds) > 1 else f"seed {self.seeds[0]}"
        return (f"{self.patterns} patterns of {self.min_layers}–{self.max_layers} layers, {seeds}, "
                f"measured {self.measured}")


@dataclass(frozen=True)
class QualitySpread:
    """The expected standard deviation of one run's quality and what it rests on."""

    sd: float
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"quality_sd": self.sd, "quality_sd_basis": self.basis}


@dataclass(frozen=True)
class SpreadTable:
    """Measured bands per recipe (recipes as canonical JSON)."""

    bands: Mapping[str, tuple[SpreadBand, ...]]

    def to_json(self) -> str:
        entries = [{"recipe": json.loads(key), "bands": [asdict(b) for b in bands]}
                   for key, bands in sorted(self.bands.items())]
        about = ("Seed-to-seed standard deviation of one proxy run's quality, per training recipe and "
                 "depth band; written by benchmarks/proxy_fidelity.py --write-spread, read by "
                 "star_search.proxies.spread.")
        return json.dumps({"about": about, "recipes": entries}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = SPREAD_FILE) -> SpreadTable:
        try:
            data = json.loads(text)
            bands = {}
            for entry in data["recipes"]:
                key = recipe_key(entry["recipe"])
                bands[key] = tuple(sorted((SpreadBand(**{**b, "seeds": tuple(b["seeds"])})
                                           for b in entry["bands"]), key=lambda b: b.min_layers))
        except (ValueError, KeyError, TypeError) as err:
            raise SpecError(source, type(err).__name__, f"a seed-spread table ({err})") from err
        return cls(bands)

    def lookup(self, config: ProxyConfig, n_layers: int) -> QualitySpread | None:
        """The expected spread of `config`'s quality for a candidate of `n_layers` layers: measured
        for its recipe at that depth; for a mean of k seeds not measured there, one run's spread
        at that depth / sqrt(k) (independent seeds); else interpolated or extrapolated by depth."""
        own = self.bands.get(recipe_key(config), ())
        one = (self.bands.get(recipe_key(replace(config, repeats=1)), ())
               if config.repeats > 1 else ())
        for bands, derived in ((own, False), (one, True)):
            band = next((b for b in bands if b.min_layers <= n_layers <= b.max_layers), None)
            if band is not None:
                spread = QualitySpread(band.sd, f"measured: {band.describe()}")
                return self._of_mean(spread, config.repeats) if derived else spread
        if own:
            return _by_depth(own, n_layers)
        return self._of_mean(_by_depth(one, n_layers), config.repeats) if one else None

    @staticmethod
    def _of_mean(one: QualitySpread, repeats: int) -> QualitySpread:
        return QualitySpread(one.sd / math.sqrt(repeats), f"one run's spread / sqrt({repeats}) for the mean "
                             f"of {repeats} seeds; one run's {one.basis}")


def _by_depth(bands: tuple[SpreadBand, ...], n_layers: int) -> QualitySpread:
    """Between two bands: linear in depth; beyond them: the nearest band."""
    below = [b for b in bands if b.max_layers < n_layers]
    above = [b for b in bands if b.min_layers > n_layers]
    if below and above:
        low, high = below[-1], above[0]
        t = (n_layers - low.max_layers) / (high.min_layers - low.max_layers)
        return QualitySpread(low.sd + t * (high.sd - low.sd),
                             f"interpolated between {low.describe()} and {high.describe()}")
    nearest = below[-1] if below else above[0]
    return QualitySpread(nearest.sd, f"extrapolated to {n_layers} layers from {nearest.describe()}")


@lru_cache(maxsize=1)
def shipped_table() -> SpreadTable:
    """The table shipped with the package (empty when it has not been written)."""
    path = resources.files("star_search.proxies").joinpath(SPREAD_FILE)
    if not path.is_file():
        return SpreadTable({})
    return SpreadTable.from_json(path.read_text(encoding="utf-8"), f"star_search/proxies/{SPREAD_FILE}")


def expected_spread(config: ProxyConfig, n_layers: int,
                    table: SpreadTable | None = None) -> QualitySpread | None:
    """One run's expected quality spread for a candidate of `n_layers` layers under `config`
    (the shipped table unless `table`); None when the recipe was never repeated."""
    return (table or shipped_table()).lookup(config, n_layers)


def noise_margin(sd_a: float | None, sd_b: float | None, z: float) -> float:
    """How much larger one quality must be than another to be larger beyond noise: z standard
    deviations of the difference of two independent runs (unknown spreads count as 0)."""
    return z * math.sqrt((sd_a or 0.0) ** 2 + (sd_b or 0.0) ** 2)


@dataclass(frozen=True)
class Repeat:
    """One finished run: its recipe (canonical JSON), pattern, depth, seed, quality, the day it
    ran and where ("cpu", "cuda": repeats are compared on one device only)."""

    recipe: str
    pattern: str
    n_layers: int
    seed: int
    quality: float
    date: str
    device: str = "cpu"


def measure_spread(runs: Iterable[Repeat], sets: Mapping[str, Sequence[str]]) -> SpreadTable:
    """Pool seed repeats into bands: for each recipe and each fidelity set (name → patterns),
    the patterns run at two or more seeds give sd = sqrt(Σ (k-1)·s² / Σ (k-1)) (k runs and
    sample variance s² per pattern and device). Sets with no repeated pattern give no band."""
    by_recipe: dict[str, dict[tuple[str, str], dict[int, Repeat]]] = {}
    for run in runs:
        by_recipe.setdefault(run.recipe, {}).setdefault((run.pattern, run.device), {})[run.seed] = run
    table: dict[str, tuple[SpreadBand, ...]] = {}
    for key, patterns in by_recipe.items():
        bands = []
        for name, members in sets.items():
            repeated = {(p, device): seeds for (p, device), seeds in patterns.items()
                        if p in members and len(seeds) >= 2}
            if not repeated:
                continue
            squares = dof = 0.0
            for seeds in repeated.values():
                values = [run.quality for run in seeds.values()]
                mean = sum(values) / len(values)
                squares += sum((v - mean) ** 2 for v in values)
                dof += len(values) - 1
            depths = [run.n_layers for seeds in repeated.values() for run in seeds.values()]
            seeds_used = sorted({s for seeds in repeated.values() for s in seeds})
            dates = sorted(run.date for seeds in repeated.values() for run in seeds.values())
            distinct = len({p for p, _ in repeated})
            bands.append(SpreadBand(name, min(depths), max(depths), math.sqrt(squares / dof), distinct,
                                    tuple(seeds_used), int(dof), dates[-1]))
        if bands:
            table[key] = tuple(sorted(bands, key=lambda b: b.min_layers))
    return SpreadTable(table)
