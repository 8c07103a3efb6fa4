// DNS over a stream (TCP, TLS): each message prefixed with its two-byte length (RFC 1035
// §4.2.2, RFC 7766 §8). The listener (transport/tcp.ts) and the forwarder's upstream
// connections (forward/transports.ts) both frame with this.

/** A message with its two-byte length prefix. */
export function frame(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(b.length + 2);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}
