// Building responses. Two kinds of work:
//  - the hot path copies a prepared message and patches it: ID, RD, the question bytes (so the
//    client's 0x20 mixed case comes back exactly as sent), and appends OPT when asked;
//  - everything else encodes a Plan (sections of records) with the compressing WireWriter.
// Truncation (RFC 1035 §4.2.1, RFC 2181 §9, RFC 6891 §7): an answer over the client's UDP
// limit goes out as header + question (+ OPT) with TC=1 and no records; the client retries
// over TCP, where the limit is 65535.

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

/** What the response needs from the query. */
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

export const OPT_LEN = 11;

/** Writes an OPT pseudo-RR (RFC 6891 §6.1.2) at `at`. */
export function writeOpt(out: Buffer, at: number, size: number, extRcode: number, dnssecOk: boolean): void {
  out[at] = 0; // root owner
  out[at + 1] = 0; out[at + 2] = TYPE.OPT;
  out[at + 3] = size >> 8; out[at + 4] = size & 0xff;
  out[at + 5] = extRcode; out[at + 6] = 0; // version 0
  out[at + 7] = dnssecOk ? 0x80 : 0; out[at + 8] = 0;
  out[at + 9] = 0; out[at + 10] = 0;
}

/** Encodes a plan. With `canonical` the question is written from qname (prepared messages, ID 0). */
export function encodePlan(plan: Plan, q: QueryEcho, reuse?: WireWriter): Buffer {
  const w = reuse ?? new WireWriter(512);
  w.reset();
  w.u16(q.id);
  w.u8(FLAG_QR | (plan.aa ? FLAG_AA : 0) | (q.rd & 1));
  w.u8(plan.rcode & 0x0f);
  w.u16(1);
  w.u16(plan.answer.length);
  w.u16(plan.authority.length);
  w.u16(plan.additional.length + (q.optSize >= 0 ? 1 : 0));
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
    writeOpt(w.buf, at, q.optSize, q.optExtRcode, q.dnssecOk);
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
  out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = opt ? 1 : 0;
  if (opt) writeOpt(out, qend, q.optSize, q.optExtRcode, q.dnssecOk);
  return out;
}

/**
 * The hot path: a copy of a prepared message with the client's ID, RD and question bytes,
 * plus OPT when optSize ≥ 0. Returns a TC response when the result exceeds maxSize.
 */
export function patchPrepared(tpl: Buffer, msg: Buffer, qend: number, optSize: number, dnssecOk: boolean, maxSize: number): Buffer {
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const total = tpl.length + extra;
  if (total > maxSize) return truncatedFromQuery(msg, qend, FLAG_QR | FLAG_AA, 0, optSize, 0, dnssecOk);
  const out = Buffer.allocUnsafe(total);
  tpl.copy(out, 0, 0, tpl.length);
  msg.copy(out, 0, 0, 2); // ID
  out[2] = tpl[2] | (msg[2] & 1); // RD echoed
  msg.copy(out, 12, 12, qend); // question as sent (case preserved)
  if (extra) {
    writeOpt(out, tpl.length, optSize, 0, dnssecOk);
    const ar = ((out[10] << 8) | out[11]) + 1;
    out[10] = ar >> 8; out[11] = ar & 0xff;
  }
  return out;
}

/**
 * A negative answer (NXDOMAIN or NODATA, RFC 2308 §3): header + question as sent + the zone's
 * SOA in authority, its owner a compression pointer to the zone's suffix inside the question.
 */
export function negativeFromQuery(msg: Buffer, qend: number, rcode: number, originOffset: number, soaTail: Buffer, optSize: number, dnssecOk: boolean, maxSize: number): Buffer {
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const total = qend + 2 + soaTail.length + extra;
  if (total > maxSize) return truncatedFromQuery(msg, qend, FLAG_QR | FLAG_AA, rcode, optSize, 0, dnssecOk);
  const out = Buffer.allocUnsafe(total);
  msg.copy(out, 0, 0, qend);
  out[2] = FLAG_QR | FLAG_AA | (msg[2] & 1);
  out[3] = rcode;
  out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 1; out[10] = 0; out[11] = extra ? 1 : 0;
  const ptr = 0xc000 | (12 + originOffset);
  out[qend] = ptr >> 8; out[qend + 1] = ptr & 0xff;
  soaTail.copy(out, qend + 2);
  if (extra) writeOpt(out, qend + 2 + soaTail.length, optSize, 0, dnssecOk);
  return out;
}

/**
 * Header (+ question when qend > 12) + optional OPT, no records: errors (FORMERR, NOTIMP,
 * REFUSED, SERVFAIL, BADVERS) and truncated answers. flags2 gives QR/AA/TC; RD and opcode are echoed.
 */
export function truncatedFromQuery(msg: Buffer, qend: number, flags2: number, rcode: number, optSize: number, extRcode: number, dnssecOk: boolean, tc = true): Buffer {
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const out = Buffer.allocUnsafe(qend + extra);
  msg.copy(out, 0, 0, qend);
  out[2] = flags2 | (tc ? FLAG_TC : 0) | (msg[2] & 0x79); // keep opcode (0x78) and RD (0x01)
  out[3] = rcode & 0x0f;
  out[4] = 0; out[5] = qend > 12 ? 1 : 0;
  out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = extra ? 1 : 0;
  if (extra) writeOpt(out, qend, optSize, extRcode, dnssecOk);
  return out;
}

/** An error response with no records (and without TC). */
export function errorFromQuery(msg: Buffer, qend: number, rcode: number, optSize = -1, extRcode = 0, dnssecOk = false): Buffer {
  return truncatedFromQuery(msg, qend, FLAG_QR, rcode, optSize, extRcode, dnssecOk, false);
}
