// Wire work of the forwarding path, without building objects: the upstream query, the checks
// an answer must pass (RFC 5452: same ID, same question), the per-hop OPT removed, the TTL
// fields located (for the cache's countdown), and the client's response shaped from it.

import { FLAG_TC, TYPE } from '../wire/constants.js';
import { skipName } from '../wire/name.js';
import { appendOpt, OPT_LEN, truncatedFromQuery } from '../wire/response.js';
import type { ReplyContext } from '../wire/response.js';

/** The query we send upstream: a fresh ID, RD=1, the canonical (lower-case) question, our OPT. */
export function buildUpstreamQuery(id: number, key: string, qtype: number, qclass: number, udpSize: number, dnssecOk: boolean): Buffer {
  const qlen = key.length + 4;
  const out = Buffer.allocUnsafe(12 + qlen + OPT_LEN);
  out[0] = id >> 8; out[1] = id & 0xff;
  out[2] = 0x01; out[3] = 0; // RD
  out[4] = 0; out[5] = 1; out[6] = 0; out[7] = 0; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = 0;
  out.write(key, 12, key.length, 'latin1');
  out.writeUInt16BE(qtype, 12 + key.length);
  out.writeUInt16BE(qclass, 14 + key.length);
  appendOpt(out, 12 + qlen, udpSize, 0, dnssecOk);
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

export interface ScannedResponse {
  /** The response without the upstream's OPT (ARCOUNT adjusted), ID zeroed. */
  body: Buffer;
  rcode: number;
  /** Offsets of every record's TTL field in body (OPT excluded). */
  ttlOffsets: number[];
  /** Smallest TTL among answer records (Infinity when none). */
  minAnswerTtl: number;
  /** For a negative answer: min(SOA TTL, SOA MINIMUM) of the authority SOA (RFC 2308 §5), else undefined. */
  negativeTtl: number | undefined;
  answerCount: number;
}

/** Walks a response's records; undefined when malformed. */
export function scanResponse(resp: Buffer): ScannedResponse | undefined {
  const qend = questionEnd(resp);
  if (qend < 0) return undefined;
  const an = (resp[6] << 8) | resp[7];
  const ns = (resp[8] << 8) | resp[9];
  const ar = (resp[10] << 8) | resp[11];
  const offsets: number[] = [];
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
    const ttl = resp.readUInt32BE(p + 4);
    const rdlen = (resp[p + 8] << 8) | resp[p + 9];
    const end = p + 10 + rdlen;
    if (end > resp.length) return undefined;
    if (type === TYPE.OPT) { optStart = start; optEnd = end; }
    else {
      offsets.push(p + 4);
      if (i < an) minTtl = Math.min(minTtl, ttl);
      else if (i < an + ns && type === TYPE.SOA && rdlen >= 22) negTtl = Math.min(ttl, resp.readUInt32BE(end - 4));
    }
    p = end;
  }
  let body: Buffer;
  if (optStart >= 0) {
    body = Buffer.concat([resp.subarray(0, optStart), resp.subarray(optEnd, p)]);
    const arc = ar - 1;
    body[10] = arc >> 8; body[11] = arc & 0xff;
    for (let i = 0; i < offsets.length; i++) if (offsets[i] > optStart) offsets[i] -= optEnd - optStart;
  } else body = Buffer.from(resp.subarray(0, p));
  body[0] = 0; body[1] = 0;
  return { body, rcode: resp[3] & 0x0f, ttlOffsets: offsets, minAnswerTtl: minTtl, negativeTtl: negTtl, answerCount: an };
}

/** A stored upstream answer: its body (ID 0, no OPT) and where its TTLs are. */
export interface StoredResponse {
  readonly body: Buffer;
  readonly ttlOffsets: readonly number[];
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
  body.copy(out, 0);
  out[0] = msg[0]; out[1] = msg[1];
  out[2] = (body[2] & ~(0x01 | FLAG_TC)) | (msg[2] & 0x01);
  if (qend <= body.length) msg.copy(out, 12, 12, qend);
  if (age > 0 || fixedTtl >= 0 || cap < 0x7fffffff) {
    for (const o of ttlOffsets) {
      const t = fixedTtl >= 0 ? fixedTtl : Math.max(0, Math.min(body.readUInt32BE(o), cap) - age);
      out.writeUInt32BE(t, o);
    }
  }
  if (extra) appendOpt(out, body.length, optSize, 0, ctx.dnssecOk);
  return out;
}
