// The query path: bytes in, bytes out (or nothing). Transport-agnostic: UDP and TCP both call
// handleQuery(). Parse (wire/query.ts) → one reply context (wire/response.ts ReplyContext) →
// locate the table that holds the name (lookup.ts) → its prepared answer (patched: a copy, or
// over TCP a new head and the prepared bytes themselves), a negative answer (header + question
// + the zone's SOA), the slow path (planAnswer over all the live tables), or the fallback (the
// forwarder) for names no table holds.

import { performance } from 'node:perf_hooks'; // a module binding: the global is an accessor, looked up per call
import type { Fallback, FallbackQuery } from './fallback.js';
import { locate, recall, remember, tablesScope } from './lookup.js';
import type { Location } from './lookup.js';
import type { ServerMetrics } from './metrics.js';
import { planAnswer, wildcardFor } from './tables/plan.js';
import { CNAME, ENT, NODE, typeBit } from './tables/slab.js';
import type { Tables } from './tables/types.js';
import { CLASS_IN, EXT_RCODE_BADVERS, RCODE, TYPE } from './wire/constants.js';
import { keyToName } from './wire/name.js';
import { newParsedQuery, parseQuery, questionKey, Verdict } from './wire/query.js';
import { echoOf, encodePlan, errorFromQuery, headerOnly, negativeFromQuery, patchPrepared, replyRcode } from './wire/response.js';
import type { Reply } from './wire/response.js';

export interface HandlerState {
  /** The live tables; replaced (never mutated) on reload. */
  tables: Tables;
  fallback: Fallback | undefined;
  metrics: ServerMetrics;
  /** Our EDNS UDP payload size. */
  udpPayloadSize: number;
  /** Worker threads: swaps in a reload every worker has built, before the query reads `tables` (server.ts). */
  sync?: () => void;
}

export const PROTO_UDP = 0;
export const PROTO_TCP = 1;

const q = newParsedQuery();
const context: { -readonly [K in keyof FallbackQuery]: FallbackQuery[K] } = { msg: Buffer.alloc(0), qend: 12, optSize: -1, dnssecOk: false, maxSize: 512, key: '', qtype: 0, qclass: 0 };
/** answer()'s word for "no table has the name: ask the fallback" (handleQuery's forward() does, with a context of its own). */
const TO_FALLBACK: unique symbol = Symbol('to fallback');
let slowRotation = 0;
/** A forwarded query up to this size that owns its memory (a UDP datagram) is kept whole while it waits; a larger one, header and question only. */
const KEEP_QUERY_MAX = 512;
const now = (): number => performance.now();

/**
 * Answers one query. Returns the response, null to send nothing (dropped), or a promise of
 * either (forwarded). Never throws for any input bytes. Over TCP a prepared answer comes in
 * parts that share the table's bytes (wire/response.ts Reply); over UDP always one Buffer.
 */
export function handleQuery(msg: Buffer, proto: 0 | 1, st: HandlerState): Reply | null | Promise<Reply | null> {
  const t0 = now();
  const m = st.metrics;
  parseQuery(msg, q, false); // the key: answer()'s, when the name is not recalled
  if (q.verdict !== Verdict.Ok) {
    if (q.verdict === Verdict.Drop) { m.drop(); return null; }
    m.request(proto, 0);
    const rcode = q.verdict === Verdict.NotImp ? RCODE.NOTIMP : RCODE.FORMERR;
    m.response(rcode, (now() - t0) / 1000);
    return errorFromQuery(headerOnly(msg), rcode);
  }
  m.request(proto, q.qtype);
  // The reply context, with the question: one object for every query answered here (it is used
  // up before handleQuery returns); the fallback, which keeps it past an await, gets its own copy.
  const ctx = context;
  ctx.msg = msg; ctx.qend = q.qend; ctx.optSize = q.ednsPresent ? st.udpPayloadSize : -1; ctx.dnssecOk = q.ednsDo;
  ctx.maxSize = proto === PROTO_TCP ? 65535 : q.ednsPresent ? Math.min(q.ednsUdpSize, st.udpPayloadSize) : 512;
  ctx.key = ''; ctx.qtype = q.qtype; ctx.qclass = q.qclass; // key: set by answer()
  if (q.ednsPresent && q.ednsVersion > 0) {
    // RFC 6891 §6.1.3: BADVERS, with the highest version we do (0) in the OPT.
    m.response(EXT_RCODE_BADVERS, (now() - t0) / 1000);
    return errorFromQuery(ctx, 0, 1);
  }
  let out: Reply | null;
  try {
    const a = answer(ctx, st, proto === PROTO_TCP);
    if (a === TO_FALLBACK) return forward(ctx, st.fallback!, m, t0);
    out = a;
  } catch {
    out = errorFromQuery(ctx, RCODE.SERVFAIL); // a bug must not stop the server
  }
  m.response(out === null ? RCODE.REFUSED : replyRcode(out), (now() - t0) / 1000);
  return out;
}

/**
 * Hands the query to the fallback, which keeps it past an await: with a context of its own
 * (`ctx` is reused by the next query), and of the bytes only the header and question when the
 * query is a view into more (a TCP read: the query in flight would pin it) or large (a client's
 * padding or extra records, kept per waiting query). A promise is mapped in one step: no route →
 * REFUSED, a rejection → SERVFAIL, both made from that copy.
 */
function forward(ctx: FallbackQuery, fb: Fallback, m: HandlerState['metrics'], t0: number): Reply | Promise<Reply> {
  const msg = ctx.msg;
  const own: FallbackQuery = { ...ctx, msg: msg.length <= KEEP_QUERY_MAX && msg.byteLength === msg.buffer.byteLength ? msg : ownCopy(msg, ctx.qend) };
  const done = (x: Reply | null): Reply => {
    const b = x ?? errorFromQuery(own, RCODE.REFUSED);
    m.response(replyRcode(b), (now() - t0) / 1000);
    return b;
  };
  const r = fb.resolve(own);
  if (!(r instanceof Promise)) return done(r);
  return r.then(done, () => done(errorFromQuery(own, RCODE.SERVFAIL)));
}

/**
 * The answer to the query in `q` (parsed, version 0, without its key), from the live tables or
 * the fallback; `shared`: a prepared answer in parts (TCP). Sets q.key and ctx.key once past the
 * class and type checks. A name answered before from a zone or the hosts is recalled (lookup.ts
 * recall: its key and Location, no key string made, no locate).
 */
function answer(ctx: { -readonly [K in keyof FallbackQuery]: FallbackQuery[K] }, st: HandlerState, shared: boolean): Reply | null | typeof TO_FALLBACK {
  const qtype = q.qtype;
  // Only class IN is served (never forwarded or cached otherwise); zone transfers are not offered.
  if (q.qclass !== CLASS_IN || q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return errorFromQuery(ctx, RCODE.REFUSED);
  if (st.sync !== undefined) st.sync(); // a worker thread: swap in the update every worker has built (workers.ts)
  const t = st.tables;
  // No configuration yet (a worker still loading, a source still listing): SERVFAIL, so the
  // client asks another server instead of taking "refused" or "no such name" for an answer.
  if (t.generation === 0) return errorFromQuery(ctx, RCODE.SERVFAIL);
  const recalled = recall(t, ctx.msg, q.nameEnd, q.nameHash);
  let key: string;
  let loc: Location;
  if (recalled !== undefined) { key = recalled.key; loc = recalled.location; } else { key = questionKey(ctx.msg, q); loc = locate(t, key); }
  q.key = key;
  ctx.key = key;
  switch (loc.kind) {
    case 'zone': {
      const table = loc.table;
      // The prepared answer or, when there is none, what the name holds (the slab's flags,
      // nothing decoded: NODATA needs no record).
      const f = table.answerOrFlags(key, qtype);
      if (recalled === undefined && f !== 0) remember(t, q.nameHash, key, loc); // a name that exists here (not every miss: those are many)
      if (typeof f !== 'number') return patchPrepared(f, ctx, shared);
      if (f & NODE) {
        if (!(f & CNAME) && qtype !== TYPE.ANY && !(f & typeBit(qtype))) return negativeFromQuery(ctx, RCODE.NOERROR, loc.originOffset, loc.zone.soaTail);
        break; // slow path
      }
      if (loc.clusterEnt || f & ENT) return negativeFromQuery(ctx, RCODE.NOERROR, loc.originOffset, loc.zone.soaTail);
      if (wildcardFor(table, key) !== undefined) break; // slow path: synthesis
      return negativeFromQuery(ctx, RCODE.NXDOMAIN, loc.originOffset, loc.zone.soaTail);
    }
    case 'hosts': {
      if (recalled === undefined) remember(t, q.nameHash, key, loc);
      const tpl = loc.table.answerFor(key, qtype);
      if (tpl !== undefined) return patchPrepared(tpl, ctx, shared);
      break;
    }
    case 'reverse': {
      const tpl = t.reverse.answerFor(key, qtype);
      if (tpl !== undefined) return patchPrepared(tpl, ctx, shared);
      break;
    }
    case 'none': {
      return st.fallback === undefined ? errorFromQuery(ctx, RCODE.REFUSED) : TO_FALLBACK;
    }
  }
  // Slow path: compose from the live tables (wildcards, CNAME chains leaving their shard, ANY, NODATA without SOA).
  const scope = tablesScope(t);
  const qname = keyToName(key);
  const plan = planAnswer(scope, scope.find(key), qname, qtype, slowRotation++);
  if (plan === undefined) return errorFromQuery(ctx, RCODE.REFUSED);
  return encodePlan(plan, echoOf(ctx, qname));
}

/** The first `n` bytes of `msg` (header and question: all a reply needs of it) in memory of their own, not a slice of the shared pool. */
function ownCopy(msg: Buffer, n: number): Buffer {
  const b = Buffer.allocUnsafeSlow(n);
  b.set(msg.subarray(0, n));
  return b;
}
