package supervisor

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang/protobuf/proto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const typePrefix = "type.googleapis.com/"

// FieldViolation is one bad field of a request; Field is its request path, e.g. "spec.timeout".
type FieldViolation struct {
	Field       string
	Description string
}

// Error is every failed supervisor call, decoded from the gRPC status and the google.rpc.Status
// in its grpc-status-details-bin trailer. Reason is the machine word to branch on
// (ErrorInfo.reason, e.g. "TASK_NOT_FOUND"; the code's name when the server sent none).
type Error struct {
	Code            codes.Code
	Message         string
	Reason          string
	Metadata        map[string]string
	FieldViolations []FieldViolation
	// RetryDelay is the server's RetryInfo, zero when it sent none.
	RetryDelay time.Duration
	cause      error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Reason) }

// Unwrap returns the gRPC error it was decoded from.
func (e *Error) Unwrap() error { return e.cause }

// CodeName is the gRPC code's canonical name, e.g. "NOT_FOUND".
func (e *Error) CodeName() string { return codeNames[e.Code] }

// Violation returns the violation of one field, if the server named it.
func (e *Error) Violation(field string) *FieldViolation {
	for i := range e.FieldViolations {
		if e.FieldViolations[i].Field == field {
			return &e.FieldViolations[i]
		}
	}
	return nil
}

// AsError turns any error a call returned into an *Error (nil stays nil).
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Code: codes.Unknown, Message: err.Error(), Reason: "UNKNOWN", Metadata: map[string]string{}, cause: err}
	}
	decoded := &Error{Code: st.Code(), Message: st.Message(), Metadata: map[string]string{}, cause: err}
	// The details are decoded by type URL, not through a type registry: a malformed one is skipped.
	for _, detail := range st.Proto().GetDetails() {
		switch detail.GetTypeUrl() {
		case typePrefix + "google.rpc.ErrorInfo":
			info := &errdetails.ErrorInfo{}
			if proto.Unmarshal(detail.GetValue(), info) == nil {
				decoded.Reason = info.GetReason()
				for k, v := range info.GetMetadata() {
					decoded.Metadata[k] = v
				}
			}
		case typePrefix + "google.rpc.BadRequest":
			bad := &errdetails.BadRequest{}
			if proto.Unmarshal(detail.GetValue(), bad) == nil {
				for _, v := range bad.GetFieldViolations() {
					decoded.FieldViolations = append(decoded.FieldViolations, FieldViolation{v.GetField(), v.GetDescription()})
				}
			}
		case typePrefix + "google.rpc.RetryInfo":
			info := &errdetails.RetryInfo{}
			if proto.Unmarshal(detail.GetValue(), info) == nil && info.GetRetryDelay() != nil {
				d := info.GetRetryDelay()
				decoded.RetryDelay = time.Duration(d.GetSeconds())*time.Second + time.Duration(d.GetNanos())
			}
		}
	}
	if decoded.Reason == "" {
		decoded.Reason = codeNames[st.Code()]
	}
	return decoded
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}
