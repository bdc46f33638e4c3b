"""Joint multi-task training of one proxy model, then per-task evaluation on held-out data.

Batches (`batching.py`): each step deals `batch_size` sequences to the tasks, in order of
sequence length, and runs them as micro-batches of similar length (gradients accumulated).
Loss: cross-entropy averaged over each sequence's scored positions, then over the step's
sequences, so every task weighs the same whatever its number of scored positions.

Evaluation: each task's metric (`Task.position_values`) averaged over the scored positions of
`eval_samples` held-out sequences (`Task.held_out`); for accuracy tasks also the mean probability
given to the target (`Task.target_probabilities`), from the same forward passes.

Randomness: data comes only from explicit generators (training stream `seed`, held-out stream
`seed + EVAL_SEED_OFFSET`); initialisation is seeded by `build_model`; deterministic algorithms
are requested while training, with a warning where an operator has none. On a GPU, cuBLAS is
deterministic only with a fixed workspace (`CUBLAS_WORKSPACE_CONFIG`, read when the process first
multiplies matrices on the GPU): `deterministic_algorithms` sets it to `:4096:8` unless the
environment already names one, so that a proxy run repeats bit for bit on the same GPU.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from star_search.errors import ProxyError
from star_search.model import Backbone
from star_search.proxies.batching import dealt, family_tokens, micro_batches, step_parts, task_batch
from star_search.proxies.config import ProxyConfig
from star_search.proxies.experts import ExpertLoad
from star_search.proxies.task import Task
from star_search.proxies.vocab import IGNORE

EVAL_SEED_OFFSET = 1_000_003  # held-out data comes from a different stream than training data
FINAL_LOSS_FRACTION = 0.1     # final_loss averages the last 10% of steps
EVAL_CHUNK_TOKENS = 16_384    # evaluation forwards at most this many tokens at a time
CUBLAS_WORKSPACE = ":4096:8"  # the workspace cuBLAS documents for reproducible results


@dataclass(frozen=True)
class TrainResult:
    """values: task name → its metric on held-out data (accuracy 0–1, or bits per byte).
    probabilities: accuracy task name → mean probability of the target on the same data (0–1)."""

    values: dict[str, float]
    probabilities: dict[str, float]
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
    """Ask torch for deterministic kernels (warn, not fail, where one has none), then restore.
    Also fixes cuBLAS's workspace for the process unless the environment already sets it (it
    must be in place before the first matrix product on the GPU; harmless on a CPU)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def learning_rate(step: int, steps: int, peak: float, warmup_fraction: float,
                  final_fraction: float) -> float:
    """Linear warm-up, then cosine decay to `final_fraction` of the peak."""
    warmup = max(1, int(steps * warmup_fraction))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * progress)))


def sequence_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy averaged over each row's scored positions, then over rows (scalar)."""
    per_token = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE,
                                reduction="none").view(targets.shape)
    scored = (targets != IGNORE).sum(dim=1).clamp(min=1)
    return (per_token.sum(dim=1) / scored).mean()


def train(model: Backbone, tasks: Sequence[Task], config: ProxyConfig,
          on_step: Callable[[int], None] | None = None) -> float:
    """Train in place for `config.steps`; returns the mean loss of the last 10% of steps.
    on_step: called with the step number after each step (progress)."""
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(config.seed)
    tokens = family_tokens(tasks)
    by_length = sorted(range(len(tasks)), key=lambda i: tasks[i].seq_len)  # stable: ties keep order
    tasks, tokens = [tasks[i] for i in by_length], [tokens[i] for i in by_length]
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay, betas=(0.9, 0.98))
    tail: list[float] = []
    model.train()
    with ExpertLoad(model, config.expert_bias_rate) as experts:
        for step in range(config.steps):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config.steps, config.lr, config.warmup_fraction,
                                              config.final_lr_fraction)
            parts = step_parts(tasks, tokens, dealt(step, config.batch_size, len(tasks)), rng)
            optimizer.zero_grad(set_to_none=True)
            loss = torch.zeros((), device=device)
            for inputs, targets in micro_batches(parts):
                # Weighted by rows, the micro-batch means add up to the mean over the step's rows.
                part = sequence_loss(model(inputs.to(device)), targets.to(device)) * (
                    inputs.shape[0] / config.batch_size)
                if not torch.isfinite(part):
                    raise ProxyError(f"proxy training diverged: loss {float(part)} at step {step}")
                part.backward()
                loss = loss + part.detach()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            experts.update()
            if step >= config.steps - max(1, int(config.steps * FINAL_LOSS_FRACTION)):
                tail.append(float(loss.detach()))
            if on_step is not None:
                on_step(step)
    return sum(tail) / len(tail)


@torch.no_grad()
def evaluate(model: Backbone, tasks: Sequence[Task], n_samples: int, seed: int
             ) -> tuple[dict[str, float], dict[str, float]]:
    """Each task's metric over the scored positions of `n_samples` held-out sequences, and for
    accuracy tasks the mean probability of the target."""
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    model.eval()
    values: dict[str, float] = {}
    probabilities: dict[str, float] = {}
    for task, token in zip(tasks, family_tokens(tasks), strict=True):
        inputs, targets = task_batch(task, token, n_samples, rng, held_out=True)
        rows = max(1, EVAL_CHUNK_TOKENS // inputs.shape[1])
        metric: list[Tensor] = []
        probability: list[Tensor] = []
        for chunk, wanted in zip(inputs.split(rows), targets.split(rows), strict=True):
            logits = model(chunk.to(device)).float().cpu()
            metric.append(task.position_values(logits, wanted))
            if task.metric == "accuracy":
                probability.append(task.target_probabilities(logits, wanted))
        values[task.name] = float(torch.cat(metric).double().mean())
        if probability:
            probabilities[task.name] = float(torch.cat(probability).double().mean())
    return values, probabilities


def train_and_evaluate(model: Backbone, tasks: Sequence[Task], config: ProxyConfig,
                       on_step: Callable[[int], None] | None = None) -> TrainResult:
    """Train jointly on `tasks`, then score each; times in wall-clock seconds."""
    with torch_threads(config.threads), deterministic_algorithms():
        start = time.perf_counter()
        final_loss = train(model, tasks, config, on_step)
        trained = time.perf_counter()
        values, probabilities = evaluate(model, tasks, config.eval_samples, config.seed)
    return TrainResult(values, probabilities, final_loss, trained - start, time.perf_counter() - trained)
