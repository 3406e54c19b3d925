"""The embedding cache: exact chat text -> embedding row, least recently used evicted first."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


class EmbeddingCache:
    """LRU cache text -> embedding row (read-only float32 ``(d,)``), so the same chat line embedded by two
    skills (mood's classify and FAQ's embed) costs one model call. ``max_size`` 0 disables it."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> np.ndarray | None:
        row = self._rows.get(text)
        if row is None:
            self.misses += 1
            return None
        self._rows.move_to_end(text)
        self.hits += 1
        return row

    def put(self, text: str, row: np.ndarray) -> None:
        if self.max_size <= 0:
            return
        row = np.array(row, dtype=np.float32)
        row.setflags(write=False)
        self._rows[text] = row
        self._rows.move_to_end(text)
        while len(self._rows) > self.max_size:
            self._rows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rows)
