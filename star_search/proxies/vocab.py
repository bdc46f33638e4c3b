"""The proxy tasks' shared token vocabulary.

0 is padding, 1–7 are markers, 8–23 identify the task (one token at the start of every
sequence, so one jointly trained model knows which task it is doing), and 24–127 are content
tokens that tasks draw keys, values and noise from.
"""

from __future__ import annotations

PAD = 0
SEP = 1        # separates context from queries
COPY = 2       # "now reproduce"
BLANK = 3      # filler in selective copying
COMPRESS = 4   # end of the sequence to compress
TASK_BASE = 8
MAX_TASKS = 16
CONTENT_BASE = TASK_BASE + MAX_TASKS
VOCAB_SIZE = 128
CONTENT_SIZE = VOCAB_SIZE - CONTENT_BASE
IGNORE = -100  # target value of unscored positions (torch cross-entropy's ignore_index)


def content(offset: int) -> int:
    """Token id of the `offset`-th content token."""
    if not 0 <= offset < CONTENT_SIZE:
        raise ValueError(f"content offset {offset} outside 0..{CONTENT_SIZE - 1}")
    return CONTENT_BASE + offset
