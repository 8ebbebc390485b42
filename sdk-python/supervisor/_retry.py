"""Capped exponential backoff with full jitter, and which failures are worth a retry."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

import grpc

from supervisor import reasons
from supervisor.errors import SupervisorError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts in all (the first included; 1 = no retry) and the backoff between them, in seconds."""

    max_attempts: int = 5
    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        """Before retry number ``attempt`` (1-based): uniform in [0, min(max, initial × multiplier^(attempt-1))]."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** min(attempt - 1, 60))
        return random.random() * base


DEFAULT_RETRY = RetryPolicy()
#: Runner reconnects: 250 ms doubling to 10 s, full jitter (as the TypeScript runner).
RECONNECT_BACKOFF = RetryPolicy(max_attempts=0, initial_delay=0.25, max_delay=10.0)

_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}
# RESOURCE_EXHAUSTED reasons that retrying in a moment does not clear: the caller must act.
_NOT_TRANSIENT = {reasons.SLOT_QUEUE_FULL, reasons.WATCH_TOO_SLOW, reasons.OUTPUT_TOO_SLOW, reasons.TOO_MANY_STREAMS}


def is_retryable(error: SupervisorError) -> bool:
    """Only transport-level trouble is retried (and only on calls safe to repeat)."""
    return error.code in _RETRYABLE and error.reason not in _NOT_TRANSIENT


def with_retry(
    attempt: Callable[[], T], policy: RetryPolicy, stop: Optional[threading.Event] = None
) -> T:
    """Runs an idempotent call, retrying transient failures; raises SupervisorError."""
    n = 1
    while True:
        try:
            return attempt()
        except Exception as raised:  # noqa: BLE001 - every failure becomes a SupervisorError
            error = SupervisorError.from_exception(raised)
            if n >= policy.max_attempts or not is_retryable(error) or (stop is not None and stop.is_set()):
                raise error from raised
            pause = max(error.retry_delay or 0.0, policy.delay(n))
            if stop is not None:
                if stop.wait(pause):
                    raise error from raised
            else:
                time.sleep(pause)
            n += 1
