// Building responses. Two kinds of work:
//  - the hot path copies a prepared message (from a slab's answer arena, by offset and length)
//    and patches it: ID, RD, the question bytes (so the client's 0x20 mixed case comes back
//    exactly as sent), and appends OPT when asked; for TCP only the patched head is new and the
//    rest is the prepared message's own bytes (Reply);
//  - everything else encodes a Plan (sections of records) with the compressing WireWriter.
// Truncation (RFC 1035 §4.2.1, RFC 2181 §9, RFC 6891 §7): an answer over the client's UDP
// limit goes out as header + question (+ OPT) with TC=1 and no records; the client retries
// over TCP, where the limit is 65535.

// Buffer as a module binding: the global is an accessor (a getter call per use on the hot path).
import { Buffer } from 'node:buffer';
import { CLASS_IN, FLAG_AA, FLAG_QR, FLAG_TC, TYPE } from './constants.js';
import { WireWriter } from './writer.js';

export interface PlanRR {
  /** dotted lower-case owner */
  owner: string;
  type: number;
  ttl: number;
  data: unknown;
}

export interface Plan {
  rcode: number;
  aa: boolean;
  answer: PlanRR[];
  authority: PlanRR[];
  additional: PlanRR[];
}

/**
 * The reply context: what every response needs from its query, made once when the query is
 * parsed (handler.ts) and carried to whatever encodes the answer, the forwarder included
 * (fallback.ts FallbackQuery extends it).
 */
export interface ReplyContext {
  /** The query as received. The question bytes (0x20 case) and ID are copied from it. */
  readonly msg: Buffer;
  /** Offset just past the question (12 when the question could not be read). */
  readonly qend: number;
  /** Payload size for the OPT the response carries (ours), or -1: the client sent no OPT. */
  readonly optSize: number;
  /** The client's DNSSEC OK bit, echoed in our OPT. */
  readonly dnssecOk: boolean;
  /** Largest response the client takes: 65535 over TCP; over UDP its EDNS size (≤ ours) or 512. */
  readonly maxSize: number;
  /**
   * True when the question bytes are those of the name's key, its type and class IN (no ASCII
   * upper-case letter in the name: the handler's parse says so): a prepared answer for it
   * (patchPrepared) holds the same bytes already. Absent: the question is copied.
   */
  readonly asKey?: boolean;
}

/** The reply context of a query whose question or OPT could not be read: header only, no OPT. */
export function headerOnly(msg: Buffer): ReplyContext {
  return { msg, qend: 12, optSize: -1, dnssecOk: false, maxSize: 512 };
}

/** What encodePlan needs: the reply context's parts, or at build time a canonical question (ID 0). */
export interface QueryEcho {
  id: number;
  /** RD bit of the query (0 or 1). */
  rd: number;
  /** The question section exactly as received (name, type, class). */
  question: Buffer;
  /** dotted lower-case question name (compression target at offset 12). */
  qname: string;
  /** OPT to append: our payload size, or -1 for none. */
  optSize: number;
  /** Extended rcode upper bits for the OPT (BADVERS: 1). */
  optExtRcode: number;
  dnssecOk: boolean;
  /** Largest message the client takes. */
  maxSize: number;
}

/** The echo of a query for encodePlan, from its reply context. */
export function echoOf(ctx: ReplyContext, qname: string): QueryEcho {
  const m = ctx.msg;
  return { id: (m[0] << 8) | m[1], rd: m[2] & 1, question: m.subarray(12, ctx.qend), qname, optSize: ctx.optSize, optExtRcode: 0, dnssecOk: ctx.dnssecOk, maxSize: ctx.maxSize };
}

export const OPT_LEN = 11;

/**
 * Appends an OPT pseudo-RR (RFC 6891 §6.1.2) at `at` (room for OPT_LEN bytes) and counts it in
 * ARCOUNT. The one place an OPT is written: responses, truncated responses, upstream queries.
 */
export function appendOpt(out: Buffer, at: number, size: number, extRcode: number, dnssecOk: boolean): void {
  out[at] = 0; // root owner
  out[at + 1] = 0; out[at + 2] = TYPE.OPT;
  out[at + 3] = size >> 8; out[at + 4] = size & 0xff;
  out[at + 5] = extRcode; out[at + 6] = 0; // version 0
  out[at + 7] = dnssecOk ? 0x80 : 0; out[at + 8] = 0;
  out[at + 9] = 0; out[at + 10] = 0;
  const ar = ((out[10] << 8) | out[11]) + 1;
  out[10] = ar >> 8; out[11] = ar & 0xff;
}

/** Encodes a plan (the slow path, and preparing answers at build time with a canonical question). */
export function encodePlan(plan: Plan, q: QueryEcho, reuse?: WireWriter): Buffer {
  const w = reuse ?? new WireWriter(512);
  w.reset();
  w.u16(q.id);
  w.u8(FLAG_QR | (plan.aa ? FLAG_AA : 0) | (q.rd & 1));
  w.u8(plan.rcode & 0x0f);
  w.u16(1);
  w.u16(plan.answer.length);
  w.u16(plan.authority.length);
  w.u16(plan.additional.length);
  w.bytes(q.question);
  w.remember(q.qname, 12);
  for (const section of [plan.answer, plan.authority, plan.additional]) {
    for (const rr of section) {
      const at = w.beginRecord(rr.owner, rr.type, rr.ttl, CLASS_IN);
      w.rdata(rr.type, rr.data);
      w.endRecord(at);
    }
  }
  if (q.optSize >= 0) {
    const at = w.len;
    for (let i = 0; i < OPT_LEN; i++) w.u8(0);
    appendOpt(w.buf, at, q.optSize, q.optExtRcode, q.dnssecOk);
  }
  const out = w.result();
  return out.length > q.maxSize ? truncated(out, q) : out;
}

/** Header + question (+ OPT) of `full`, TC set, no records. */
function truncated(full: Buffer, q: QueryEcho): Buffer {
  const qend = 12 + q.question.length;
  const opt = q.optSize >= 0;
  const out = Buffer.allocUnsafe(qend + (opt ? OPT_LEN : 0));
  full.copy(out, 0, 0, qend);
  out[2] |= FLAG_TC;
  out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = 0;
  if (opt) appendOpt(out, qend, q.optSize, q.optExtRcode, q.dnssecOk);
  return out;
}

/**
 * A response, ready to send: one message, or (over TCP: patchPrepared with `shared`) the parts
 * of one, sent back to back: a patched head, the prepared message's remainder (a view of the
 * slab's answer arena, shared by every reply and thread, never written to) and, when asked, an OPT.
 */
export type Reply = Buffer | ReplyParts;
export type ReplyParts = readonly Buffer[];

/** The reply's RCODE (low 4 bits of the header's second flags byte). */
export function replyRcode(r: Reply): number {
  return (Buffer.isBuffer(r) ? r : r[0]!)[3] & 0x0f;
}

/** The reply's length in bytes. */
export function replyLength(r: Reply): number {
  if (Buffer.isBuffer(r)) return r.length;
  let n = 0;
  for (const b of r) n += b.length;
  return n;
}

/** The reply as one message (a copy when it comes in parts). */
export function replyBytes(r: Reply): Buffer {
  return Buffer.isBuffer(r) ? r : Buffer.concat(r);
}

/**
 * The hot path: a prepared message with the client's ID, RD and question bytes (same length as
 * the canonical question, so the prepared compression pointers stay valid), plus OPT when the
 * client sent one. A TC response when the result exceeds the client's limit. The prepared
 * message is the `len` bytes at `at` in `ab` (a slab's answer arena, tables/arena.ts: shared
 * by every thread, never written to once made).
 *
 * Without `shared`, one new message (a copy of the prepared one, patched). With `shared` (TCP),
 * only the header and question are new: the reply is [head, rest of the prepared message (+ OPT)],
 * so an answer queued on a connection holds a few dozen bytes of its own, not a copy of up to
 * 64 KiB (README, "Memory bound").
 */
export function patchAt(ab: ArrayBufferLike, at: number, len: number, ctx: ReplyContext, shared = false): Reply {
  const { msg, qend, optSize } = ctx;
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const total = len + extra;
  if (total > ctx.maxSize) return truncatedFromQuery(ctx, FLAG_QR | FLAG_AA, 0);
  // One plain view of the message (no Buffer: its constructor checks its arguments in JS) and
  // TypedArray#set: Buffer#copy of part of a buffer checks its arguments in JS and makes a view
  // of its own (Node 20), and a byte loop costs some 25 instructions a byte.
  const tpl = new Uint8Array(ab, at, len);
  let out: Buffer;
  if (shared) {
    out = Buffer.allocUnsafe(qend + extra);
    for (let i = 4; i < 12; i++) out[i] = tpl[i]; // counts
  } else {
    out = Buffer.allocUnsafe(total);
    out.set(tpl); // counts and records (the question is overwritten below)
  }
  out[0] = msg[0]; out[1] = msg[1]; // ID
  out[2] = tpl[2] | (msg[2] & 1); // RD echoed
  out[3] = tpl[3];
  // The question as sent (case preserved). A copy of the prepared message has the canonical
  // question (the key, the type, class IN): the same bytes when the name has no upper-case letter.
  if (shared || ctx.asKey !== true) copyBytes(msg, 12, qend, out, 12);
  if (shared) {
    const rest = Buffer.from(ab, at + qend, len - qend);
    if (!extra) return [out, rest];
    appendOpt(out, qend, optSize, 0, ctx.dnssecOk); // counted in the head's ARCOUNT
    return [out.subarray(0, qend), rest, out.subarray(qend)];
  }
  if (extra) appendOpt(out, len, optSize, 0, ctx.dnssecOk);
  return out;
}

/** patchAt() for a prepared message held as a Buffer (tools and tests). */
export function patchPrepared(tpl: Buffer, ctx: ReplyContext, shared = false): Reply {
  return patchAt(tpl.buffer, tpl.byteOffset, tpl.length, ctx, shared);
}

/**
 * Copies src[start, end) to dst at `at`: the few dozen bytes of a header and question. Up to
 * COPY_LOOP_MAX bytes by hand; more through one plain Uint8Array view and TypedArray#set, about
 * half the instructions at 60 bytes (a byte loop over a Buffer costs some 25 instructions a
 * byte). Not Buffer#copy: it checks its arguments in JS, then makes the same view.
 */
export function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
  if (end - start > COPY_LOOP_MAX) { dst.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), at); return; }
  for (let i = start; i < end; i++) dst[at + i - start] = src[i];
}
const COPY_LOOP_MAX = 32;

/**
 * A negative answer (NXDOMAIN or NODATA, RFC 2308 §3): header + question as sent + the zone's
 * SOA in authority, its owner a compression pointer to the zone's suffix inside the question.
 */
export function negativeFromQuery(ctx: ReplyContext, rcode: number, originOffset: number, soaTail: Buffer): Buffer {
  const { msg, qend, optSize } = ctx;
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const total = qend + 2 + soaTail.length + extra;
  if (total > ctx.maxSize) return truncatedFromQuery(ctx, FLAG_QR | FLAG_AA, rcode);
  const out = Buffer.allocUnsafe(total);
  // Header and question: the whole query when it fits (one TypedArray#set; the bytes past the
  // question are written over below), else those bytes alone.
  if (msg.length <= total) out.set(msg); else copyBytes(msg, 0, qend, out, 0);
  out[2] = FLAG_QR | FLAG_AA | (msg[2] & 1);
  out[3] = rcode;
  out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 1; out[10] = 0; out[11] = 0;
  const ptr = 0xc000 | (12 + originOffset);
  out[qend] = ptr >> 8; out[qend + 1] = ptr & 0xff;
  out.set(soaTail, qend + 2); // TypedArray#set: Buffer#copy checks its arguments in JS first
  if (extra) appendOpt(out, qend + 2 + soaTail.length, optSize, 0, ctx.dnssecOk);
  return out;
}

/**
 * Header (+ question when qend > 12) + optional OPT, no records: errors (FORMERR, NOTIMP,
 * REFUSED, SERVFAIL, BADVERS) and truncated answers. flags2 gives QR/AA/TC; RD and opcode are
 * echoed. `extRcode`: the OPT's extended rcode bits (BADVERS: 1).
 */
export function truncatedFromQuery(ctx: ReplyContext, flags2: number, rcode: number, extRcode = 0, tc = true): Buffer {
  const { msg, qend, optSize } = ctx;
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const out = Buffer.allocUnsafe(qend + extra);
  copyBytes(msg, 0, qend, out, 0);
  out[2] = flags2 | (tc ? FLAG_TC : 0) | (msg[2] & 0x79); // keep opcode (0x78) and RD (0x01)
  out[3] = rcode & 0x0f;
  out[4] = 0; out[5] = qend > 12 ? 1 : 0;
  out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = 0;
  if (extra) appendOpt(out, qend, optSize, extRcode, ctx.dnssecOk);
  return out;
}

/** An error response with no records (and without TC). */
export function errorFromQuery(ctx: ReplyContext, rcode: number, extRcode = 0): Buffer {
  return truncatedFromQuery(ctx, FLAG_QR, rcode, extRcode, false);
}
