package supervisor

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// codec marshals with google.golang.org/protobuf (API v2), which the generated code is written for.
// grpc 1.33's default codec goes through github.com/golang/protobuf; Debian 12 packages that at 1.3.5
// (API v1), whose table marshaller crashes on API v2 messages with oneofs (TaskSpec.exec). Forcing
// this codec makes the client work with either golang/protobuf. Its name is "proto", so the wire
// content type stays application/grpc+proto.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v interface{}) ([]byte, error) {
	message, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("supervisor codec: %T is not a protobuf message", v)
	}
	return proto.Marshal(message)
}

func (codec) Unmarshal(data []byte, v interface{}) error {
	message, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("supervisor codec: %T is not a protobuf message", v)
	}
	return proto.Unmarshal(data, message)
}

var forceCodec = grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{}))
