// The query path: bytes in, bytes out (or nothing). Transport-agnostic: UDP and TCP both call
// handleQuery(). Parse (wire/query.ts) → one reply context (wire/response.ts ReplyContext) →
// locate the table that holds the name (lookup.ts) → its prepared answer (patched: a copy, or
// over TCP a new head and the prepared bytes themselves), a negative answer (header + question
// + the zone's SOA), the slow path (planAnswer over all the live tables), or the fallback (the
// forwarder) for names no table holds.

import { performance } from 'node:perf_hooks'; // a module binding: the global is an accessor, looked up per call
import { PENDING } from './fallback.js';
import type { Fallback, FallbackQuery } from './fallback.js';
import { locate, recall, remember, rememberMissing, tablesScope } from './lookup.js';
import type { Location, Recalled } from './lookup.js';
import type { ServerMetrics } from './metrics.js';
import { planAnswer, wildcardFor } from './tables/plan.js';
import { PICKED, picked } from './tables/arena.js';
import { CNAME, ENT, NODE, typeBit } from './tables/slab.js';
import type { Tables } from './tables/types.js';
import { CLASS_IN, EXT_RCODE_BADVERS, RCODE, TYPE } from './wire/constants.js';
import { keyToName } from './wire/name.js';
import { newParsedQuery, parseQuery, questionKey, Verdict } from './wire/query.js';
import { echoOf, encodePlan, errorFromQuery, headerOnly, negativeFromQuery, patchAt, replyRcode } from './wire/response.js';
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

/** handleQuery()'s word for "answered later, through the sink" (the transports test for it). */
export { PENDING };

export const PROTO_UDP = 0;
export const PROTO_TCP = 1;

/** Where a deferred reply goes: a transport's function, called with the reply and the query's `to` (UDP: the client's address). */
export type ReplySink<T> = (reply: Reply, to: T) => void;

/** The reply context with the question, as handleQuery fills it (the fallback gets a Forwarded of its own). */
type QueryContext = { -readonly [K in Exclude<keyof FallbackQuery, 'answer' | 'msgOwned'>]: FallbackQuery[K] };

const q = newParsedQuery();
const context: QueryContext = { msg: Buffer.alloc(0), qend: 12, optSize: -1, dnssecOk: false, maxSize: 512, asKey: false, key: '', qtype: 0, qclass: 0 };
/** answer()'s word for "no table has the name: ask the fallback" (handleQuery's forward() does, with a context of its own). */
const TO_FALLBACK: unique symbol = Symbol('to fallback');
let slowRotation = 0;
/** A forwarded query up to this size that owns its memory (a UDP datagram) is kept whole while it waits; a larger one, header and question only. */
const KEEP_QUERY_MAX = 512;
const now = (): number => performance.now();

/**
 * Answers one query. Returns the response, or null to send nothing (dropped). A forwarded query
 * answered later goes to `sink` (with `to`), and PENDING is returned: callbacks from the upstream
 * socket to the reply's send, no promise per query; without a sink, a promise of the response is
 * returned instead (tools and tests). Never throws for any input bytes. Over TCP a prepared
 * answer comes in parts that share the table's bytes (wire/response.ts Reply); over UDP always
 * one Buffer.
 */
export function handleQuery(msg: Buffer, proto: 0 | 1, st: HandlerState): Reply | null | Promise<Reply | null>;
export function handleQuery<T>(msg: Buffer, proto: 0 | 1, st: HandlerState, sink: ReplySink<T>, to: T): Reply | null | typeof PENDING;
export function handleQuery<T>(msg: Buffer, proto: 0 | 1, st: HandlerState, sink?: ReplySink<T>, to?: T): Reply | null | typeof PENDING | Promise<Reply | null> {
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
  // up before handleQuery returns); the fallback, which keeps it past the call, gets its own copy.
  const ctx = context;
  ctx.msg = msg; ctx.qend = q.qend; ctx.optSize = q.ednsPresent ? st.udpPayloadSize : -1; ctx.dnssecOk = q.ednsDo;
  ctx.maxSize = proto === PROTO_TCP ? 65535 : q.ednsPresent ? Math.min(q.ednsUdpSize, st.udpPayloadSize) : 512;
  ctx.key = ''; ctx.qtype = q.qtype; ctx.qclass = q.qclass; // key: set by answer()
  ctx.asKey = !q.upper && q.qclass === CLASS_IN; // patchPrepared: a prepared answer's question is this one's (answer() serves class IN only)
  if (q.ednsPresent && q.ednsVersion > 0) {
    // RFC 6891 §6.1.3: BADVERS, with the highest version we do (0) in the OPT.
    m.response(EXT_RCODE_BADVERS, (now() - t0) / 1000);
    return errorFromQuery(ctx, 0, 1);
  }
  let out: Reply | null;
  try {
    const a = answer(ctx, st, proto === PROTO_TCP);
    if (a === TO_FALLBACK) return forward(ctx, proto, st.fallback!, m, t0, sink, to as T);
    out = a;
  } catch {
    out = errorFromQuery(ctx, RCODE.SERVFAIL); // a bug must not stop the server
  }
  m.response(out === null ? RCODE.REFUSED : replyRcode(out), (now() - t0) / 1000);
  return out;
}

/**
 * A query handed to the fallback, which keeps it past the call: a context of its own (`context`
 * is reused by the next query), and of the bytes only the header and question when the query
 * is a view into more (a TCP read: the query in flight would pin it) or large (a client's padding
 * or extra records, kept per waiting query). Answered later through answer(): counted, then
 * handed to the transport's sink.
 */
class Forwarded<T> implements FallbackQuery {
  readonly msg: Buffer;
  readonly qend: number;
  readonly optSize: number;
  readonly dnssecOk: boolean;
  readonly maxSize: number;
  readonly asKey: boolean;
  readonly key: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly msgOwned = true;

  constructor(ctx: QueryContext, proto: 0 | 1, private readonly m: ServerMetrics, private readonly t0: number, private readonly sink: ReplySink<T>, private readonly to: T) {
    const msg = ctx.msg;
    this.msg = msg.length <= KEEP_QUERY_MAX && ownsMemory(msg, proto) ? msg : ownCopy(msg, ctx.qend);
    this.qend = ctx.qend; this.optSize = ctx.optSize; this.dnssecOk = ctx.dnssecOk; this.maxSize = ctx.maxSize; this.asKey = ctx.asKey === true;
    this.key = ctx.key; this.qtype = ctx.qtype; this.qclass = ctx.qclass;
  }

  /** Whether the query has had its one answer (finish()): a later answer() is dropped. */
  answered = false;

  /** The reply for the fallback's answer (null: no route → REFUSED), counted. */
  finish(reply: Buffer | null): Buffer {
    this.answered = true;
    const b = reply ?? errorFromQuery(this, RCODE.REFUSED);
    this.m.response(replyRcode(b), (now() - this.t0) / 1000);
    return b;
  }

  answer(reply: Buffer | null): void {
    // Called from the fallback's own callbacks (an upstream socket's 'message'): nothing may throw
    // back into them, which would leave the flight's other clients unanswered. A query already
    // answered (its fallback threw after keeping it: SERVFAIL went out then) gets no second answer.
    if (this.answered) return;
    try { this.sink(this.finish(reply), this.to); } catch { /* the transport is gone: nothing to send to */ }
  }
  fail(): void { this.answer(errorFromQuery(this, RCODE.SERVFAIL)); }
}

/** Hands the query to the fallback: answered at once, or later through `sink` (PENDING), or without a sink as a promise. */
function forward<T>(ctx: QueryContext, proto: 0 | 1, fb: Fallback, m: ServerMetrics, t0: number, sink: ReplySink<T> | undefined, to: T): Reply | typeof PENDING | Promise<Reply> {
  let promised: Promise<Reply> | undefined;
  if (sink === undefined) promised = new Promise<Reply>((resolve) => { sink = resolve; });
  const own = new Forwarded(ctx, proto, m, t0, sink!, to);
  let r: ReturnType<Fallback['resolve']>;
  try {
    r = fb.resolve(own);
  } catch {
    // A fallback that kept the query (its answer() may come later) and then threw: SERVFAIL now,
    // once; answer() drops whatever comes after. One that answered before throwing has answered.
    if (own.answered) return promised ?? PENDING;
    return own.finish(errorFromQuery(own, RCODE.SERVFAIL));
  }
  if (r === PENDING) return promised ?? PENDING;
  if (r instanceof Promise) {
    r.then((b) => own.answer(b), () => own.fail());
    return promised ?? PENDING;
  }
  return own.finish(r);
}

/**
 * The answer to the query in `q` (parsed, version 0, without its key), from the live tables or
 * the fallback; `shared`: a prepared answer in parts (TCP). Sets q.key and ctx.key once past the
 * class and type checks. A name answered before from a zone or the hosts is recalled (lookup.ts
 * recall: its key and Location, no key string made, no locate).
 */
function answer(ctx: QueryContext, st: HandlerState, shared: boolean): Reply | null | typeof TO_FALLBACK {
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
      // A name answered NXDOMAIN, or NODATA for this type, before (on these tables: such answers
      // never change for them): the same negative answer, no table asked.
      if (recalled !== undefined) {
        if (recalled.nxdomain || (recalled.nodata & typeBit(qtype)) !== 0) {
          return negativeFromQuery(ctx, recalled.nxdomain ? RCODE.NXDOMAIN : RCODE.NOERROR, loc.originOffset, loc.zone.soaTail);
        }
        if (recalled.answers !== 0 && loc.table.pick(recalled.answers, qtype)) return patchAt(picked.ab, picked.at, picked.len, ctx, shared);
      }
      const table = loc.table;
      // The prepared answer (picked) or, when there is none, what the name holds (the slab's
      // flags, nothing decoded: NODATA needs no record).
      const f = table.answerOrFlags(key, qtype, q.nameHash);
      // A name that exists here is kept (not every miss: those are many; see below).
      const kept = recalled ?? (f !== 0 ? remember(t, q.nameHash, key, loc) : undefined);
      if (f === PICKED) {
        if (kept !== undefined && kept.answers === 0) kept.answers = table.lastRef;
        return patchAt(picked.ab, picked.at, picked.len, ctx, shared);
      }
      if (f & NODE) {
        if (!(f & CNAME) && qtype !== TYPE.ANY && !(f & typeBit(qtype))) return noData(ctx, kept, qtype, loc.originOffset, loc.zone.soaTail);
        break; // slow path
      }
      if (loc.clusterEnt || f & ENT) return noData(ctx, kept, qtype, loc.originOffset, loc.zone.soaTail);
      if (wildcardFor(table, key) !== undefined) break; // slow path: synthesis
      // No such name (and no wildcard to make one): kept apart from the names that exist, so
      // that names made up by clients (search-path misses, random names) push out only each other.
      if (recalled === undefined) rememberMissing(t, q.nameHash, key, loc);
      return negativeFromQuery(ctx, RCODE.NXDOMAIN, loc.originOffset, loc.zone.soaTail);
    }
    case 'hosts': {
      const table = loc.table;
      if (recalled !== undefined && recalled.answers !== 0 && table.pick(recalled.answers, qtype)) return patchAt(picked.ab, picked.at, picked.len, ctx, shared);
      const kept = recalled ?? remember(t, q.nameHash, key, loc);
      if (table.answerOrFlags(key, qtype, q.nameHash) !== PICKED) break;
      if (kept.answers === 0) kept.answers = table.lastRef;
      return patchAt(picked.ab, picked.at, picked.len, ctx, shared);
    }
    case 'reverse': {
      if (t.reverse.pick(key, qtype)) return patchAt(picked.ab, picked.at, picked.len, ctx, shared);
      break;
    }
    case 'none': {
      if (st.fallback === undefined) return errorFromQuery(ctx, RCODE.REFUSED);
      // A forwarded name is recalled too: its next query takes the key string from the index
      // (the forwarder's cache is keyed by it) and skips locate(). Only with a fallback: a server
      // that refuses such names keeps its index for its own.
      if (recalled === undefined) remember(t, q.nameHash, key, loc);
      return TO_FALLBACK;
    }
  }
  // Slow path: compose from the live tables (wildcards, CNAME chains leaving their shard, ANY, NODATA without SOA).
  const scope = tablesScope(t);
  const qname = keyToName(key);
  const plan = planAnswer(scope, scope.find(key), qname, qtype, slowRotation++);
  if (plan === undefined) return errorFromQuery(ctx, RCODE.REFUSED);
  return encodePlan(plan, echoOf(ctx, qname));
}

/** NODATA with the zone's SOA, noted on the name's recall entry (when it has one) for the next query of the type. */
function noData(ctx: QueryContext, kept: Recalled | undefined, qtype: number, originOffset: number, soaTail: Buffer): Buffer {
  if (kept !== undefined) kept.nodata |= typeBit(qtype);
  return negativeFromQuery(ctx, RCODE.NOERROR, originOffset, soaTail);
}

/**
 * Whether `msg` is all of its memory, so that keeping it pins nothing more. Over UDP, a datagram
 * as dgram hands it: a buffer of its own, at offset 0 (the test: a view elsewhere is copied).
 * Over TCP, a query may be a view into the connection's read, and its ArrayBuffer is asked
 * (`buffer` is a getter that costs some 400 instructions: the forwarded UDP path skips it).
 */
function ownsMemory(msg: Buffer, proto: 0 | 1): boolean {
  return proto === PROTO_UDP ? msg.byteOffset === 0 : msg.byteLength === msg.buffer.byteLength;
}

/** The first `n` bytes of `msg` (header and question: all a reply needs of it) in memory of their own, not a slice of the shared pool. */
function ownCopy(msg: Buffer, n: number): Buffer {
  const b = Buffer.allocUnsafeSlow(n);
  b.set(msg.subarray(0, n));
  return b;
}
