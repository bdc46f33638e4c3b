"""Multi-hop recall (pointer chasing): follow `hops` links of a lookup table given in context.

Tests: composing recalls inside one forward pass, `a → b → c` answered as `a → c`; each hop
needs its own lookup, so it asks for depth (a layer per hop, roughly) as well as a global mixer.
Layout: the links of one random cycle over `n_nodes` distinct nodes (every node is the source
of exactly one link and the target of one, so no node can be told from its position in the
list), as pairs `a b` in random order; `SEP`; then `n_queries` distinct nodes, each followed by
its answer, the node `hops` links further (teacher-forced). Scored: each queried node, target =
its answer. Metric: accuracy. Chance: 1 / node_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_at_most, require_content, require_positive
from star_search.proxies.tasks.draw import distinct, interleave, random_order
from star_search.proxies.tasks.layout import queried


@dataclass(frozen=True)
class MultiHopRecall(Task):
    n_nodes: int = 8
    hops: int = 2
    n_queries: int = 4
    node_pool: int = 48
    family: str = "multi_hop"

    def __post_init__(self) -> None:
        require_positive(self.name, n_nodes=self.n_nodes, hops=self.hops, n_queries=self.n_queries,
                         node_pool=self.node_pool)
        require_at_most(self.name, "n_nodes", self.n_nodes, "node_pool", self.node_pool, "nodes are distinct")
        require(self.hops < self.n_nodes, f"{self.name}.hops", self.hops,
                f"fewer than n_nodes={self.n_nodes} (the answer is never the query itself)")
        require_at_most(self.name, "n_queries", self.n_queries, "n_nodes", self.n_nodes)
        require_content(self.name, self.node_pool, "node_pool")

    @property
    def name(self) -> str:
        return f"multi_hop/nodes{self.n_nodes}-hops{self.hops}-queries{self.n_queries}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.node_pool

    @property
    def seq_len(self) -> int:
        return 2 * self.n_nodes + 1 + 2 * self.n_queries

    @property
    def scored_per_sequence(self) -> int:
        return self.n_queries

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        cycle = distinct(n, self.n_nodes, self.node_pool, rng)  # cycle[i] links to cycle[i + 1]
        successor = cycle.roll(-1, dims=1)
        listed = random_order(n, self.n_nodes, rng)
        links = interleave(cycle.gather(1, listed), successor.gather(1, listed))
        asked = random_order(n, self.n_nodes, rng)[:, :self.n_queries]
        return queried(links, cycle.gather(1, asked), cycle.gather(1, (asked + self.hops) % self.n_nodes))
