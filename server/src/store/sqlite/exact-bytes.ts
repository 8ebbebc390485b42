/**
 * `bytes` in a buffer of its own: a copy when it is a view into a larger one. Posting a view to the
 * writer thread copies the whole buffer behind it — a protobuf field decoded from a gRPC message is a
 * view into that message, a small Buffer a view into Node's 8 KiB pool.
 */
export function exactBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}
