"""The proxy tasks' shared token vocabulary (128 ids, the proxy model's `vocab_size`).

0 is padding, 1–7 are markers (6 in use), 8–23 identify the task family (the trainer puts one in front of
every sequence, so one jointly trained model knows which task it is doing; settings of one family
share the token, their format says the rest), and 24–127 are content
tokens that tasks draw keys, values and noise from. A task addresses content by offset
(0 … `CONTENT_SIZE` - 1); `content(offset)` turns an offset into a token id.
"""

from __future__ import annotations

PAD = 0
SEP = 1        # separates context from queries
COPY = 2       # "now reproduce"
BLANK = 3      # filler in selective copying and compression read-out
COMPRESS = 4   # end of the sequence to compress
INSERT = 5     # "the value of the key before me" in memorization
TRIGGER = 6    # the induction-head trigger: "the token after my previous occurrence"
TASK_BASE = 8
MAX_FAMILIES = 16
CONTENT_BASE = TASK_BASE + MAX_FAMILIES
VOCAB_SIZE = 128
CONTENT_SIZE = VOCAB_SIZE - CONTENT_BASE
IGNORE = -100  # target value of unscored positions (torch cross-entropy's ignore_index)


def content(offset: int) -> int:
    """Token id of the `offset`-th content token."""
    if not 0 <= offset < CONTENT_SIZE:
        raise ValueError(f"content offset {offset} outside 0..{CONTENT_SIZE - 1}")
    return CONTENT_BASE + offset


def family_token(index: int) -> int:
    """Token id that announces the `index`-th task family of a suite."""
    if not 0 <= index < MAX_FAMILIES:
        raise ValueError(f"family index {index} outside 0..{MAX_FAMILIES - 1}")
    return TASK_BASE + index
