// The seam between the authoritative server and whatever answers the names it does not hold
// (the forwarder and its cache). The server looks in its own data first (zones, the cluster
// domain, hosts, the reverse index); only a query none of that covers is handed here, so local
// zones always win over a forwarder for their own names.

import type { ForwardersShard } from './config/types.js';

export interface EdnsInfo {
  /** The query carried an OPT record. */
  present: boolean;
  /** EDNS version asked (0 when present; a version > 0 never reaches a Fallback: the server answers BADVERS). */
  version: number;
  /** The client's advertised UDP payload size (already floored at 512). */
  udpSize: number;
  /** DNSSEC OK bit. */
  dnssecOk: boolean;
}

export interface FallbackQuery {
  /** The query exactly as received. Valid only until the returned promise settles: copy what you keep. */
  msg: Buffer;
  /** The query name as the server's lookup key: lower-cased uncompressed wire form, latin1 (wire/name.ts keyToName gives the dotted form). */
  key: string;
  qtype: number;
  qclass: number;
  proto: 'udp' | 'tcp';
  /** Largest response the client accepts: 65535 over TCP; over UDP the EDNS payload (min 512, max our own) or 512. */
  maxSize: number;
  /** Payload size for the OPT the response must carry (the server's own), or -1 when the client sent no OPT. */
  optSize: number;
  edns: EdnsInfo;
}

export interface Fallback {
  /**
   * Answers a query no local data covers. Resolves to the complete response for the client:
   * the client's ID, RD and question bytes (0x20 case) restored, at most `maxSize` bytes (TC=1
   * when cut). Resolves to null when no forwarder routes the name: the server then answers
   * REFUSED. Never rejects: failures are answered (SERVFAIL) inside.
   * May answer synchronously (a cache hit) to keep promises off the hot path: the server
   * checks for a Buffer or null before awaiting.
   */
  resolve(query: FallbackQuery): Buffer | null | Promise<Buffer | null>;
  /** Applies the forwarders shard (undefined when the config has none). Called off the query path, on reload. */
  applyForwarders(shard: ForwardersShard | undefined): void;
  /** JSON for the server's /status (upstream health and so on). */
  status(): unknown;
  close(): Promise<void>;
}
