// Wire work of the forwarding path, without building objects: the upstream query, the checks
// an answer must pass (RFC 5452: same ID, same question), the per-hop OPT removed, the TTL
// fields located (for the cache's countdown), and the client's response shaped from it: in the
// upstream response's own bytes when nothing else needs them (shapeInPlace), else a copy of the
// stored body (shapeForClient).

// Buffer as a module binding: the global is an accessor (a getter call per use: a cached answer's copy).
import { Buffer } from 'node:buffer';
import { FLAG_TC, TYPE } from '../wire/constants.js';
import { skipName } from '../wire/name.js';
import { appendOpt, copyBytes, OPT_LEN, truncatedFromQuery } from '../wire/response.js';
import type { ReplyContext } from '../wire/response.js';

/**
 * Writes the query we send upstream into `out` (room for 12 + key + 4 + OPT_LEN bytes): a fresh
 * ID, RD=1, the canonical (lower-case) question, our OPT. Returns its length.
 */
export function writeUpstreamQuery(out: Buffer, id: number, key: string, qtype: number, qclass: number, udpSize: number, dnssecOk: boolean): number {
  const end = 12 + key.length + 4;
  out[0] = id >> 8; out[1] = id & 0xff;
  out[2] = 0x01; out[3] = 0; // RD
  out[4] = 0; out[5] = 1; out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = 0;
  for (let i = 0; i < key.length; i++) out[12 + i] = key.charCodeAt(i);
  out[end - 4] = qtype >> 8; out[end - 3] = qtype & 0xff;
  out[end - 2] = qclass >> 8; out[end - 1] = qclass & 0xff;
  appendOpt(out, end, udpSize, 0, dnssecOk);
  return end + OPT_LEN;
}

/** The query we send upstream, in a buffer of its own (TCP and TLS). */
export function buildUpstreamQuery(id: number, key: string, qtype: number, qclass: number, udpSize: number, dnssecOk: boolean): Buffer {
  const out = Buffer.allocUnsafe(12 + key.length + 4 + OPT_LEN);
  writeUpstreamQuery(out, id, key, qtype, qclass, udpSize, dnssecOk);
  return out;
}

/** Whether `resp` answers `query` (QR set, same ID, one question equal case-insensitively). */
export function answersQuery(resp: Buffer, query: Buffer): boolean {
  if (resp.length < 12 || (resp[2] & 0x80) === 0) return false;
  if (resp[0] !== query[0] || resp[1] !== query[1]) return false;
  if (resp[4] !== 0 || resp[5] !== 1) return false;
  const qend = questionEnd(query);
  if (qend < 0 || resp.length < qend) return false;
  for (let i = 12; i < qend; i++) {
    let a = resp[i], b = query[i];
    if (a >= 65 && a <= 90) a += 32;
    if (b >= 65 && b <= 90) b += 32;
    if (a !== b) return false;
  }
  return true;
}

/**
 * Whether `resp` answers the question we asked with ID `id` (QR set, that ID, one question: the
 * name `key` case-insensitively, `qtype`, `qclass`). The same check as answersQuery, without
 * keeping the query's bytes.
 */
export function answersQuestion(resp: Buffer, id: number, key: string, qtype: number, qclass: number): boolean {
  const n = key.length;
  if (resp.length < 12 + n + 4 || (resp[2] & 0x80) === 0) return false;
  if (resp[0] !== id >> 8 || resp[1] !== (id & 0xff)) return false;
  if (resp[4] !== 0 || resp[5] !== 1) return false;
  for (let i = 0; i < n; i++) {
    let a = resp[12 + i];
    if (a >= 65 && a <= 90) a += 32;
    if (a !== key.charCodeAt(i)) return false;
  }
  const p = 12 + n;
  return resp[p] === qtype >> 8 && resp[p + 1] === (qtype & 0xff) && resp[p + 2] === qclass >> 8 && resp[p + 3] === (qclass & 0xff);
}

/** End offset of the (uncompressed) question of a message, or -1. */
export function questionEnd(msg: Buffer): number {
  let p = 12;
  while (p < msg.length) {
    const l = msg[p];
    if (l === 0) return p + 5 <= msg.length ? p + 5 : -1;
    if (l > 63) return -1;
    p += l + 1;
  }
  return -1;
}

/**
 * An upstream response, walked (nothing copied): where its records end, where its OPT is, and
 * what the cache needs.
 */
export interface ScannedResponse {
  /** The response as received (ID as sent upstream, the upstream's OPT still in it). */
  readonly msg: Buffer;
  /** End of the last record (bytes past it are ignored). */
  readonly end: number;
  /** The upstream's OPT record [optStart, optEnd), or -1, -1. */
  readonly optStart: number;
  readonly optEnd: number;
  readonly rcode: number;
  /** Offsets of every record's TTL field in msg (OPT excluded); empty unless asked for. */
  readonly ttlOffsets: number[];
  /** Smallest TTL among answer records (Infinity when none). */
  readonly minAnswerTtl: number;
  /** For a negative answer: min(SOA TTL, SOA MINIMUM) of the authority SOA (RFC 2308 §5), else undefined. */
  readonly negativeTtl: number | undefined;
  readonly answerCount: number;
}

const NO_OFFSETS: number[] = [];

/** Walks a response's records (`withOffsets`: collect the TTL offsets, for the cache); undefined when malformed. */
export function scanResponse(resp: Buffer, withOffsets = true): ScannedResponse | undefined {
  const qend = questionEnd(resp);
  if (qend < 0) return undefined;
  const an = (resp[6] << 8) | resp[7];
  const ns = (resp[8] << 8) | resp[9];
  const ar = (resp[10] << 8) | resp[11];
  const offsets: number[] = withOffsets ? [] : NO_OFFSETS;
  let minTtl = Infinity;
  let negTtl: number | undefined;
  let optStart = -1, optEnd = -1;
  let p = qend;
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const start = p;
    p = skipName(resp, p);
    if (p < 0 || p + 10 > resp.length) return undefined;
    const type = (resp[p] << 8) | resp[p + 1];
    const rdlen = (resp[p + 8] << 8) | resp[p + 9];
    const end = p + 10 + rdlen;
    if (end > resp.length) return undefined;
    if (type === TYPE.OPT) { optStart = start; optEnd = end; }
    else {
      if (withOffsets) offsets.push(p + 4);
      if (i < an) { const ttl = resp.readUInt32BE(p + 4); if (ttl < minTtl) minTtl = ttl; }
      else if (i < an + ns && type === TYPE.SOA && rdlen >= 22) negTtl = Math.min(resp.readUInt32BE(p + 4), resp.readUInt32BE(end - 4));
    }
    p = end;
  }
  return { msg: resp, end: p, optStart, optEnd, rcode: resp[3] & 0x0f, ttlOffsets: offsets, minAnswerTtl: minTtl, negativeTtl: negTtl, answerCount: an };
}

/** The stored form of a scanned response: a copy without the upstream's OPT (ARCOUNT adjusted), ID zeroed. */
export function storedBody(r: ScannedResponse): StoredResponse {
  const { msg, optStart, optEnd, end } = r;
  let body: Buffer;
  let offsets = r.ttlOffsets;
  if (optStart >= 0) {
    const cut = optEnd - optStart;
    body = Buffer.allocUnsafe(end - cut);
    msg.copy(body, 0, 0, optStart);
    msg.copy(body, optStart, optEnd, end);
    const arc = ((msg[10] << 8) | msg[11]) - 1;
    body[10] = arc >> 8; body[11] = arc & 0xff;
    if (optEnd < end) offsets = offsets.map((o) => (o > optStart ? o - cut : o));
  } else {
    body = Buffer.allocUnsafe(end);
    msg.copy(body, 0, 0, end);
  }
  body[0] = 0; body[1] = 0;
  return { body, ttlOffsets: offsets };
}

/**
 * The client's response made in the upstream response's own bytes, when it can be: the ID, RD
 * bit and question bytes patched, the upstream's OPT replaced by ours (or dropped), TTLs as
 * received. The same bytes shapeForClient makes from the stored body with age 0; undefined when
 * it cannot be done in place (an OPT not last, no room for ours, over the client's limit), and
 * the caller then shapes a copy.
 */
export function shapeInPlace(r: ScannedResponse, ctx: ReplyContext): Buffer | undefined {
  const { msg, optStart, optEnd, end } = r;
  if (optStart >= 0 && optEnd !== end) return undefined;
  const bodyLen = optStart >= 0 ? optStart : end;
  const extra = ctx.optSize >= 0 ? OPT_LEN : 0;
  const total = bodyLen + extra;
  if (total > ctx.maxSize || total > msg.length) return undefined;
  const q = ctx.msg;
  const qend = ctx.qend;
  if (qend > bodyLen) return undefined;
  msg[0] = q[0]; msg[1] = q[1];
  msg[2] = (msg[2] & ~(0x01 | FLAG_TC)) | (q[2] & 0x01);
  for (let i = 12; i < qend; i++) msg[i] = q[i];
  if (optStart >= 0) { const arc = ((msg[10] << 8) | msg[11]) - 1; msg[10] = arc >> 8; msg[11] = arc & 0xff; }
  if (extra) appendOpt(msg, bodyLen, ctx.optSize, 0, ctx.dnssecOk);
  return total === msg.length ? msg : msg.subarray(0, total);
}

/** A stored upstream answer: its body (ID 0, no OPT) and where its TTLs are. */
export interface StoredResponse {
  readonly body: Buffer;
  readonly ttlOffsets: readonly number[];
  /**
   * True: the body's question is the lookup key's bytes (lower-case), then the type and class the
   * entry is kept under (the cache's prepared bodies): a client's question with no upper-case
   * letter and class IN (ReplyContext.asKey) is those same bytes, and shapeForClient copies none.
   */
  readonly keyQuestion?: boolean;
}

/**
 * The client's response from a stored body: the client's ID, RD bit and question bytes (its
 * 0x20 case) from the reply context, TTLs capped at `cap` and lowered by `age` seconds (or all
 * set to `fixedTtl` ≥ 0), our OPT when the client sent one, and TC=1 with no records when over
 * the client's limit.
 */
export function shapeForClient(stored: StoredResponse, ctx: ReplyContext, age = 0, fixedTtl = -1, cap = 0x7fffffff): Buffer {
  const { body, ttlOffsets } = stored;
  const { msg, qend, optSize } = ctx;
  const extra = optSize >= 0 ? OPT_LEN : 0;
  const total = body.length + extra;
  if (total > ctx.maxSize) return truncatedFromQuery(ctx, (body[2] & 0x85) | 0x80, body[3] & 0x0f);
  const out = Buffer.allocUnsafe(total);
  out.set(body, 0); // (Buffer#copy makes a view of the source per call)
  out[0] = msg[0]; out[1] = msg[1];
  out[2] = (body[2] & ~(0x01 | FLAG_TC)) | (msg[2] & 0x01);
  if (qend <= body.length && !(ctx.asKey === true && stored.keyQuestion === true)) copyBytes(msg, 12, qend, out, 12);
  if (age > 0 || fixedTtl >= 0 || cap < 0x7fffffff) {
    for (const o of ttlOffsets) {
      const t = fixedTtl >= 0 ? fixedTtl : Math.max(0, Math.min(body.readUInt32BE(o), cap) - age);
      out.writeUInt32BE(t, o);
    }
  }
  if (extra) appendOpt(out, body.length, optSize, 0, ctx.dnssecOk);
  return out;
}
