"""Joint multi-task training of one proxy model, then per-task evaluation on held-out data.

Every training step draws a mixed batch: `batch_per_task` sequences of every task, each led by
its task token, right-padded to a common length (padding is never scored, and causal mixers
never look right). One model, one optimiser, one loss over all scored positions.
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

from star_search.model import Backbone
from star_search.proxies.task import Task
from star_search.proxies.vocab import IGNORE, PAD, TASK_BASE

EVAL_SEED_OFFSET = 1_000_003  # held-out data comes from a different stream than training data


@dataclass(frozen=True)
class TrainResult:
    accuracy: dict[str, float]
    final_loss: float
    train_seconds: float
    eval_seconds: float


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def task_batch(task: Task, task_index: int, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    batch = task.generate(n, rng)
    lead = torch.full((n, 1), TASK_BASE + task_index, dtype=torch.long)
    inputs = torch.cat((lead, batch.inputs), dim=1)
    targets = torch.cat((torch.full((n, 1), IGNORE, dtype=torch.long), batch.targets), dim=1)
    return inputs, targets


def mixed_batch(tasks: Sequence[Task], n_per_task: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    parts = [task_batch(task, i, n_per_task, rng) for i, task in enumerate(tasks)]
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


def train(model: Backbone, tasks: Sequence[Task], steps: int, n_per_task: int, lr: float,
          weight_decay: float, warmup_fraction: float, seed: int) -> float:
    """Train in place; returns the mean loss of the last 10% of steps."""
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay,
                                  betas=(0.9, 0.98))
    tail: list[float] = []
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, lr, warmup_fraction)
        inputs, targets = mixed_batch(tasks, n_per_task, rng)
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step >= steps - max(1, steps // 10):
            tail.append(float(loss.detach()))
    return sum(tail) / len(tail)


@torch.no_grad()
def evaluate(model: Backbone, tasks: Sequence[Task], n_samples: int, seed: int) -> dict[str, float]:
    """Accuracy per task over its scored positions, on sequences never seen in training."""
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    model.eval()
    accuracy: dict[str, float] = {}
    for index, task in enumerate(tasks):
        inputs, targets = task_batch(task, index, n_samples, rng)
        predictions = model(inputs.to(device)).argmax(dim=-1).cpu()
        scored = targets != IGNORE
        accuracy[task.name] = float((predictions[scored] == targets[scored]).float().mean())
    return accuracy


def train_and_evaluate(model: Backbone, tasks: Sequence[Task], *, steps: int, n_per_task: int,
                       lr: float, weight_decay: float, warmup_fraction: float, seed: int,
                       eval_samples: int) -> TrainResult:
    start = time.perf_counter()
    final_loss = train(model, tasks, steps, n_per_task, lr, weight_decay, warmup_fraction, seed)
    trained = time.perf_counter()
    accuracy = evaluate(model, tasks, eval_samples, seed)
    return TrainResult(accuracy, final_loss, trained - start, time.perf_counter() - trained)
