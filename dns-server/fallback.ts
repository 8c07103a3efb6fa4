// The seam between the authoritative server and whatever answers the names it does not hold
// (the forwarder and its cache). The server looks in its own data first (zones, the cluster
// domain, hosts, the reverse index); only a query none of that covers is handed here, so local
// zones always win over a forwarder for their own names.

import type { ForwardersShard } from './config/types.js';
import type { ReplyContext } from './wire/response.js';

/**
 * resolve()'s word for "answered later, by a call to the query's answer()": the forwarder's
 * path for a query it sends upstream, with no promise per query (docs/adr/0016).
 */
export const PENDING: unique symbol = Symbol('answered later');

/**
 * A query handed to the fallback: the reply context (the response's ID, question bytes, OPT and
 * size limit come from it), the question as the server read it, and where its answer goes. `msg`
 * is valid until the query is answered (answer() called, or the returned promise settled): copy
 * what you keep longer.
 */
export interface FallbackQuery extends ReplyContext {
  /** The query name as the server's lookup key: lower-cased uncompressed wire form, latin1 (wire/name.ts keyToName gives the dotted form). */
  readonly key: string;
  readonly qtype: number;
  readonly qclass: number;
  /**
   * True: `msg` is the query's own memory (no view into a larger buffer) and stays valid until
   * the query is answered, so a fallback may keep it as it is (the server's queries). Absent: the
   * fallback copies what it keeps past resolve().
   */
  readonly msgOwned?: boolean;
  /**
   * Sends the response to the client (null: no forwarder routes the name, answered REFUSED).
   * For a fallback whose resolve() returned PENDING: called once, never for one that answered
   * otherwise. Does not throw.
   */
  answer(reply: Buffer | null): void;
}

export interface Fallback {
  /**
   * Answers a query no local data covers, with the complete response for the client: the
   * client's ID, RD and question bytes (0x20 case) restored, at most `maxSize` bytes (TC=1 when
   * cut). Null when no forwarder routes the name: the server then answers REFUSED. Failures are
   * answered (SERVFAIL) inside.
   * Three ways to answer: at once (a Buffer or null: a cache hit); PENDING, then one call to
   * `query.answer()` (the forwarder: callbacks end to end, no promise per query); or a promise
   * (simpler fallbacks; a rejection is answered SERVFAIL).
   */
  resolve(query: FallbackQuery): Buffer | null | typeof PENDING | Promise<Buffer | null>;
  /** Applies the forwarders shard (undefined when the config has none). Called off the query path, on reload. */
  applyForwarders(shard: ForwardersShard | undefined): void;
  /** JSON for the server's /status (upstream health and so on). */
  status(): unknown;
  close(): Promise<void>;
}
