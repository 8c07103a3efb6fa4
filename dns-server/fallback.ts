// The seam between the authoritative server and whatever answers the names it does not hold
// (the forwarder and its cache). The server looks in its own data first (zones, the cluster
// domain, hosts, the reverse index); only a query none of that covers is handed here, so local
// zones always win over a forwarder for their own names.

import type { ForwardersShard } from './config/types.js';
import type { ReplyContext } from './wire/response.js';

/**
 * A query handed to the fallback: the reply context (the response's ID, question bytes, OPT and
 * size limit come from it) and the question as the server read it. `msg` is valid only until
 * the returned promise settles: copy what you keep.
 */
export interface FallbackQuery extends ReplyContext {
  /** The query name as the server's lookup key: lower-cased uncompressed wire form, latin1 (wire/name.ts keyToName gives the dotted form). */
  readonly key: string;
  readonly qtype: number;
  readonly qclass: number;
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
