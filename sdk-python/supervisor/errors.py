"""One exception type for every failed call, decoded from the gRPC status and its details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import grpc

from supervisor._google.rpc import error_details_pb2, status_pb2

#: The trailer that carries a serialized google.rpc.Status.
STATUS_DETAILS_KEY = "grpc-status-details-bin"

_TYPE_PREFIX = "type.googleapis.com/"
_ERROR_INFO = _TYPE_PREFIX + "google.rpc.ErrorInfo"
_BAD_REQUEST = _TYPE_PREFIX + "google.rpc.BadRequest"
_RETRY_INFO = _TYPE_PREFIX + "google.rpc.RetryInfo"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: `field` is its request path, e.g. ``spec.timeout``."""

    field: str
    description: str


@dataclass
class _Details:
    message: str = ""
    reason: Optional[str] = None
    metadata: Dict[str, str] = field(default_factory=dict)
    field_violations: List[FieldViolation] = field(default_factory=list)
    retry_delay: Optional[float] = None


def _status_details(status: status_pb2.Status) -> _Details:
    """ErrorInfo, BadRequest and RetryInfo of a google.rpc.Status; other (or malformed) details are skipped."""
    details = _Details(message=status.message)
    for detail in status.details:
        try:
            if detail.type_url == _ERROR_INFO:
                info = error_details_pb2.ErrorInfo.FromString(detail.value)
                details.reason = info.reason
                details.metadata = dict(info.metadata)
            elif detail.type_url == _BAD_REQUEST:
                bad = error_details_pb2.BadRequest.FromString(detail.value)
                details.field_violations.extend(
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                )
            elif detail.type_url == _RETRY_INFO:
                delay = error_details_pb2.RetryInfo.FromString(detail.value).retry_delay
                details.retry_delay = delay.seconds + delay.nanos / 1e9
        except Exception:  # a malformed detail must not hide the error itself
            continue
    return details


class SupervisorError(Exception):
    """A failed supervisor call.

    ``code`` is the :class:`grpc.StatusCode`; ``reason`` is the machine word to branch on
    (``google.rpc.ErrorInfo.reason``, e.g. ``TASK_NOT_FOUND``; the code's name when the server sent
    none); ``metadata`` is ErrorInfo's metadata; ``field_violations`` lists the bad fields of an
    ``INVALID_ARGUMENT``; ``retry_delay`` (seconds) is the server's RetryInfo, if any.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str,
        metadata: Optional[Dict[str, str]] = None,
        field_violations: Optional[List[FieldViolation]] = None,
        retry_delay: Optional[float] = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}" if message else code.name)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata: Dict[str, str] = metadata or {}
        self.field_violations: List[FieldViolation] = field_violations or []
        self.retry_delay = retry_delay

    @property
    def code_name(self) -> str:
        """Name of the gRPC code, e.g. ``NOT_FOUND``."""
        return self.code.name

    def violation(self, field_path: str) -> Optional[FieldViolation]:
        """The violation of one field (``spec.timeout``), if the server named it."""
        return next((v for v in self.field_violations if v.field == field_path), None)

    @classmethod
    def from_status(cls, status: status_pb2.Status) -> "SupervisorError":
        """The error a google.rpc.Status stands for (e.g. a refused request of a partial-success batch)."""
        code = _CODES.get(status.code, grpc.StatusCode.UNKNOWN)
        details = _status_details(status)
        return cls(
            code,
            details.message,
            details.reason or code.name,
            details.metadata,
            details.field_violations,
            details.retry_delay,
        )

    @classmethod
    def from_exception(cls, error: BaseException) -> "SupervisorError":
        """Turns anything a call raised into a SupervisorError (transport failures get the code's name as reason)."""
        if isinstance(error, SupervisorError):
            return error
        if not isinstance(error, grpc.RpcError) or not isinstance(error, grpc.Call):
            failed = cls(grpc.StatusCode.UNKNOWN, str(error), "UNKNOWN")
            failed.__cause__ = error
            return failed
        code = error.code() or grpc.StatusCode.UNKNOWN
        details = _Details(message=error.details() or "")
        for key, value in error.trailing_metadata() or ():
            if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
                try:
                    details = _status_details(status_pb2.Status.FromString(value))
                except Exception:  # a malformed trailer must not hide the real error
                    pass
        failed = cls(
            code,
            details.message or error.details() or "",
            details.reason or code.name,
            details.metadata,
            details.field_violations,
            details.retry_delay,
        )
        failed.__cause__ = error
        return failed


_CODES: Dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def raise_from(error: BaseException) -> Any:
    """Raises ``error`` as a SupervisorError (for ``except grpc.RpcError as e: raise_from(e)``)."""
    raise SupervisorError.from_exception(error) from error
