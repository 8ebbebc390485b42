"""UUIDv7 request ids (RFC 9562): time-ordered, so they land together in the server's idempotency index."""

from __future__ import annotations

import os
import threading
import time


class IdGenerator:
    """Strictly increasing UUIDv7 strings within this process (rand_a is a counter within a millisecond)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def next(self) -> str:
        with self._lock:
            now = time.time_ns() // 1_000_000
            if now > self._last_ms:
                self._last_ms, self._counter = now, 0
            else:
                self._counter += 1
                if self._counter > 0xFFF:  # the millisecond is used up: borrow the next one
                    self._last_ms, self._counter = self._last_ms + 1, 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1) | (1 << 63)
        value = (ms << 80) | (0x7 << 76) | (counter << 64) | rand_b
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


request_ids = IdGenerator()
