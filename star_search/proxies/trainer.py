"""Joint multi-task training of one proxy model, then per-task evaluation on held-out data.

Batches: each step deals `batch_size` sequences to the tasks in turn (continuing where the last
step stopped, so every task gets the same number of sequences over a run and a step costs the
same however many tasks there are). Every sequence is led by its family token, and the batch is
right-padded to its longest sequence; padding is never scored and causal mixers never look
right. Loss: cross-entropy averaged over each sequence's scored positions, then over sequences,
so every task weighs the same whatever its number of scored positions.

Randomness: data comes only from explicit generators (training stream `seed`, held-out stream
`seed + EVAL_SEED_OFFSET`); initialisation is seeded by `build_model`; deterministic algorithms
are requested while training, with a warning where an operator has none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from star_search.errors import ProxyError
from star_search.model import Backbone
from star_search.proxies.config import ProxyConfig
from star_search.proxies.experts import ExpertLoad
from star_search.proxies.task import Task
from star_search.proxies.vocab import IGNORE, MAX_FAMILIES, PAD, family_token

EVAL_SEED_OFFSET = 1_000_003  # held-out data comes from a different stream than training data
FINAL_LOSS_FRACTION = 0.1     # final_loss averages the last 10% of steps


@dataclass(frozen=True)
class TrainResult:
    """accuracy: task name → fraction of scored positions predicted exactly (0–1)."""

    accuracy: dict[str, float]
    final_loss: float
    train_seconds: float
    eval_seconds: float


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the body with `threads` torch intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """Ask torch for deterministic kernels (warn, not fail, where one has none), then restore."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def family_tokens(tasks: Sequence[Task]) -> list[int]:
    """The family token of each task: families numbered in order of first appearance."""
    index: dict[str, int] = {}
    for task in tasks:
        index.setdefault(task.family, len(index))
    if len(index) > MAX_FAMILIES:
        raise ProxyError(f"{len(index)} task families selected; the proxy vocabulary has "
                         f"tokens for {MAX_FAMILIES}")
    return [family_token(index[task.family]) for task in tasks]


def task_batch(task: Task, token: int, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """`n` sequences of `task`, each led by `token` (unscored): inputs, targets [n, 1 + seq_len]."""
    batch = task.generate(n, rng)
    inputs = torch.cat((torch.full((n, 1), token, dtype=torch.long), batch.inputs), dim=1)
    targets = torch.cat((torch.full((n, 1), IGNORE, dtype=torch.long), batch.targets), dim=1)
    return inputs, targets


def dealt(step: int, batch_size: int, n_tasks: int) -> list[int]:
    """Sequences of each task in step `step`: slots step·batch_size … dealt round-robin."""
    start = step * batch_size
    return [len(range((i - start) % n_tasks, batch_size, n_tasks)) for i in range(n_tasks)]


def mixed_batch(tasks: Sequence[Task], tokens: Sequence[int], counts: Sequence[int],
                rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """`counts[i]` sequences of task i, right-padded to the longest: inputs, targets [n, time]."""
    parts = [task_batch(task, token, count, rng)
             for task, token, count in zip(tasks, tokens, counts, strict=True) if count]
    width = max(inputs.shape[1] for inputs, _ in parts)
    inputs = torch.cat([F.pad(x, (0, width - x.shape[1]), value=PAD) for x, _ in parts])
    targets = torch.cat([F.pad(y, (0, width - y.shape[1]), value=IGNORE) for _, y in parts])
    return inputs, targets


def learning_rate(step: int, steps: int, peak: float, warmup_fraction: float) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    warmup = max(1, int(steps * warmup_fraction))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def sequence_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy averaged over each row's scored positions, then over rows (scalar)."""
    per_token = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE,
                                reduction="none").view(targets.shape)
    scored = (targets != IGNORE).sum(dim=1).clamp(min=1)
    return (per_token.sum(dim=1) / scored).mean()


def train(model: Backbone, tasks: Sequence[Task], config: ProxyConfig) -> float:
    """Train in place for `config.steps`; returns the mean loss of the last 10% of steps."""
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(config.seed)
    tokens = family_tokens(tasks)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay, betas=(0.9, 0.98))
    tail: list[float] = []
    model.train()
    with ExpertLoad(model, config.expert_bias_rate) as experts:
        for step in range(config.steps):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config.steps, config.lr, config.warmup_fraction)
            counts = dealt(step, config.batch_size, len(tasks))
            inputs, targets = mixed_batch(tasks, tokens, counts, rng)
            loss = sequence_loss(model(inputs.to(device)), targets.to(device))
            if not torch.isfinite(loss):
                raise ProxyError(f"proxy training diverged: loss {float(loss)} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            experts.update()
            if step >= config.steps - max(1, int(config.steps * FINAL_LOSS_FRACTION)):
                tail.append(float(loss.detach()))
    return sum(tail) / len(tail)


@torch.no_grad()
def evaluate(model: Backbone, tasks: Sequence[Task], n_samples: int, seed: int) -> dict[str, float]:
    """Accuracy per task over its scored positions, on `n_samples` sequences never trained on."""
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    model.eval()
    accuracy: dict[str, float] = {}
    for task, token in zip(tasks, family_tokens(tasks), strict=True):
        inputs, targets = task_batch(task, token, n_samples, rng)
        predictions = model(inputs.to(device)).argmax(dim=-1).cpu()
        scored = targets != IGNORE
        accuracy[task.name] = float((predictions[scored] == targets[scored]).float().mean())
    return accuracy


def train_and_evaluate(model: Backbone, tasks: Sequence[Task], config: ProxyConfig) -> TrainResult:
    """Train jointly on `tasks`, then score each; times in wall-clock seconds."""
    with torch_threads(config.threads), deterministic_algorithms():
        start = time.perf_counter()
        final_loss = train(model, tasks, config)
        trained = time.perf_counter()
        accuracy = evaluate(model, tasks, config.eval_samples, config.seed)
    return TrainResult(accuracy, final_loss, trained - start, time.perf_counter() - trained)
