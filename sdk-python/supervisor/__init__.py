"""Supervisor SDK for Python: a client (``Client``) and a runner with embedded handlers (``Runner``).

Generated protobuf and gRPC code is in ``supervisor.v1`` (``task_pb2``, ``task_service_pb2_grpc``, …).
"""

from supervisor._channel import Tls
from supervisor._retry import DEFAULT_RETRY, RetryPolicy
from supervisor.client import TERMINAL_PHASES, Client
from supervisor.errors import FieldViolation, SupervisorError
from supervisor.handlers import RetryAfter, RunContext, payload_of
from supervisor.runner import Runner
from supervisor.specs import embedded, subprocess
from supervisor.watch import Watch

__version__ = "0.1.0"

__all__ = [
    "Client",
    "DEFAULT_RETRY",
    "FieldViolation",
    "RetryAfter",
    "RetryPolicy",
    "RunContext",
    "Runner",
    "SupervisorError",
    "TERMINAL_PHASES",
    "Tls",
    "Watch",
    "embedded",
    "payload_of",
    "subprocess",
]
