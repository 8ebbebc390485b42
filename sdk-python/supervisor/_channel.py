"""The gRPC channel a client or runner talks through: address, TLS and a bearer token."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import grpc

DEFAULT_ADDRESS = "127.0.0.1:50051"

# gRPC waits up to 120 s between reconnect attempts by default; a supervisor that restarts should be
# found again within seconds. Keepalive notices a half-open connection instead of waiting on it.
CHANNEL_DEFAULTS: List[Tuple[str, int]] = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
]


@dataclass(frozen=True)
class Tls:
    """PEM material: ``ca`` to trust (None = system roots), ``cert`` + ``key`` for mutual TLS."""

    ca: Optional[bytes] = None
    cert: Optional[bytes] = None
    key: Optional[bytes] = None


TlsInput = Union[bool, Tls, None]


def open_channel(
    address: Optional[str], tls: TlsInput, options: Sequence[Tuple[str, object]] = ()
) -> Tuple[str, grpc.Channel]:
    """Opens a channel to ``address`` (default $SUPERVISOR_ADDR, else 127.0.0.1:50051)."""
    target = address or os.environ.get("SUPERVISOR_ADDR") or DEFAULT_ADDRESS
    merged = dict(CHANNEL_DEFAULTS)
    merged.update(dict(options))
    channel_options = list(merged.items())
    if not tls:
        return target, grpc.insecure_channel(target, options=channel_options)
    pem = tls if isinstance(tls, Tls) else Tls()
    creds = grpc.ssl_channel_credentials(root_certificates=pem.ca, private_key=pem.key, certificate_chain=pem.cert)
    return target, grpc.secure_channel(target, creds, options=channel_options)


def auth_metadata(token: Optional[str]) -> Tuple[Tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()
