// Query logging on demand (what CoreDNS's `log` plugin gives): one info line per query with
// the client, name, type, rcode, duration and the shard that answered. Off by default. The
// transports test one boolean (`tap.enabled`) per query and call handleQuery directly when it
// is off, so the off path costs that test and nothing else; when on, the query is parsed a
// second time here (the handler keeps its parse to itself) and the reply's rcode read from
// its header.

import type { Logger } from 'pino';
import { handleQuery, PROTO_TCP } from './handler.js';
import type { HandlerState } from './handler.js';
import { locate } from './lookup.js';
import { keyToName } from './wire/name.js';
import { newParsedQuery, parseQuery, Verdict } from './wire/query.js';
import { replyRcode } from './wire/response.js';
import type { Reply } from './wire/response.js';

export interface QueryTap {
  /** Read by the transports on every query: false = call handleQuery directly. */
  enabled: boolean;
  handle(msg: Buffer, proto: 0 | 1, st: HandlerState, client: string): Reply | null | Promise<Reply | null>;
}

/**
 * The tap of a transport started without one: never enabled. Its handle() passes three
 * arguments: handleQuery's fourth is a reply sink, which `client` must not be taken for.
 */
export const TAP_OFF: QueryTap = { enabled: false, handle: (msg, proto, st) => handleQuery(msg, proto, st) };

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 43: 'DS', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 252: 'AXFR', 255: 'ANY', 257: 'CAA' };

/** The shard that holds the name's data, "forwarded" or "none". */
export function shardOf(st: HandlerState, key: string): string {
  const loc = locate(st.tables, key);
  switch (loc.kind) {
    case 'zone': return (loc.table as { shardId?: string }).shardId ?? loc.zone.shardId;
    case 'hosts': return (loc.table as { shardId?: string }).shardId ?? 'hosts';
    case 'reverse': return 'reverse';
    case 'none': return st.fallback ? 'forwarders' : 'none';
  }
}

export function createQueryTap(logger: Logger, enabled: boolean): QueryTap {
  const log = logger.child({ component: 'query' });
  const pq = newParsedQuery();
  const tap: QueryTap = {
    enabled,
    handle(msg, proto, st, client) {
      const t0 = performance.now();
      const out = handleQuery(msg, proto, st);
      parseQuery(msg, pq);
      const ok = pq.verdict === Verdict.Ok;
      const fields = {
        client, proto: proto === PROTO_TCP ? 'tcp' : 'udp',
        name: ok ? keyToName(pq.key) : '-', type: ok ? TYPES[pq.qtype] ?? `TYPE${pq.qtype}` : '-',
        shard: ok ? shardOf(st, pq.key) : '-',
      };
      const done = (r: Reply | null) => {
        const rc = r === null ? 0 : replyRcode(r);
        const rcode = r === null ? 'DROPPED' : RCODES[rc] ?? `RCODE${rc}`;
        log.info({ ...fields, rcode, ms: Math.round((performance.now() - t0) * 1000) / 1000 }, 'query');
        return r;
      };
      if (out instanceof Promise) return out.then(done);
      return done(out);
    },
  };
  return tap;
}
