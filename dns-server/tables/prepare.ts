// Preparing a name's answers: complete response messages (ID 0, canonical question) for every
// type the name holds and, for a CNAME, A and AAAA chased through the chain, as long as the
// answer stays inside the table's scope (others go the slow path, lookup.ts). Called by the
// tables (table.ts, reverse.ts) on a name's first query in any thread; they copy the messages
// into the slab's answer arena (arena.ts), where every thread reads them. The hot path then
// patches one (wire/response.ts patchPrepared: a copy, or over TCP a new head sent ahead of
// the message's own remaining bytes, so a prepared message is never written to once made).
// An RRset of several records gets up to MAX_ROTATIONS messages, one per starting record (kept
// as whole messages: the arena holds them once for all threads, ADR 0031 says why).

import { TYPE } from '../wire/constants.js';
import { encodePlan } from '../wire/response.js';
import type { Plan } from '../wire/response.js';
import { WireWriter } from '../wire/writer.js';
import { writeAddress } from '../config/address.js';
import { planAnswer } from './plan.js';
import type { Scope } from './plan.js';
import { answerOfType, rrsetOf } from './types.js';
import type { Answer, NameNode, PreparedAnswers } from './types.js';

/** At most this many rotations are prepared for an RRset (evenly spaced starting records). */
const MAX_ROTATIONS = 8;

/** Canonical question section (lower-case name, type, class IN): the wire key is the name's wire form. */
function canonicalQuestion(key: string, qtype: number): Buffer {
  const q = Buffer.allocUnsafe(key.length + 4);
  q.write(key, 0, key.length, 'latin1');
  q.writeUInt16BE(qtype, key.length);
  q.writeUInt16BE(1, key.length + 2);
  return q;
}

/** One writer reused for every prepared message (preparation is synchronous). */
const scratch = new WireWriter(4096);

function encodePrepared(plan: Plan, key: string, name: string, qtype: number): Buffer {
  return encodePlan(plan, { id: 0, rd: 0, question: canonicalQuestion(key, qtype), qname: name, optSize: -1, optExtRcode: 0, dnssecOk: false, maxSize: 65535 }, scratch);
}

/**
 * The common answer, encoded directly: one A or AAAA RRset owned by the query name, nothing
 * else (no plan objects, no compression map: the owner is always the pointer to offset 12).
 * Same bytes as encodePlan would give; a test checks that.
 */
export function encodeAddressAnswer(key: string, type: number, ttl: number, data: readonly unknown[], rotation: number): Buffer {
  const n = data.length;
  const family = type === TYPE.A ? 4 : 6;
  const rdlen = family === 4 ? 4 : 16;
  const qlen = key.length + 4;
  const out = Buffer.allocUnsafe(12 + qlen + n * (12 + rdlen));
  out[0] = 0; out[1] = 0; out[2] = 0x84; out[3] = 0; // QR AA, NOERROR
  out.writeUInt16BE(1, 4); out.writeUInt16BE(n, 6); out.writeUInt32BE(0, 8);
  out.write(key, 12, key.length, 'latin1');
  let p = 12 + key.length;
  out.writeUInt16BE(type, p); out.writeUInt16BE(1, p + 2); p += 4;
  for (let i = 0; i < n; i++) {
    out[p] = 0xc0; out[p + 1] = 12;
    out.writeUInt16BE(type, p + 2); out.writeUInt16BE(1, p + 4); out.writeUInt32BE(ttl, p + 6); out.writeUInt16BE(rdlen, p + 10);
    p = writeAddress(out, p + 12, family, data[(i + rotation) % n] as string);
  }
  return out;
}

/** The prepared answers of one node, by query type (empty for a wildcard owner: synthesised per query name). */
export function prepareAnswers(key: string, node: NameNode, scope: Scope): PreparedAnswers {
  const prepared: Answer[] = [];
  if (key.startsWith('\x01*')) return prepared;
  if (!node.cname) {
    // Fast path for the common case: address RRsets answer themselves, no additional data.
    for (const type of [TYPE.A, TYPE.AAAA]) {
      const rs = rrsetOf(node, type);
      if (rs === undefined) continue;
      const n = rs.data.length;
      const rotations = Math.min(n, MAX_ROTATIONS);
      const bufs = new Array<Buffer>(rotations);
      for (let i = 0; i < rotations; i++) bufs[i] = encodeAddressAnswer(key, type, rs.ttl, rs.data, Math.floor((i * n) / rotations));
      prepared.push({ qtype: type, bufs, next: 0 });
    }
  }
  const types = new Set<number>(node.rrsets.map((rs) => rs.type));
  if (node.cname) { types.add(TYPE.A); types.add(TYPE.AAAA); }
  for (const qtype of types) {
    if (answerOfType(prepared, qtype) !== undefined) continue;
    const first = scope.find(key);
    const plan0 = planAnswer(scope, first, node.name, qtype, 0);
    if (plan0 === undefined) continue;
    // Only self-contained positive answers are prepared; the rest needs the live tables.
    const last = plan0.answer[plan0.answer.length - 1];
    if (plan0.rcode !== 0 || plan0.authority.length > 0 || last === undefined || (last.type !== qtype && qtype !== TYPE.CNAME)) continue;
    const finalSet = last.type === TYPE.CNAME ? undefined : plan0.answer.filter((rr) => rr.type === qtype && rr.owner === last.owner).length;
    const n = finalSet ?? 1;
    const rotations = Math.min(n, MAX_ROTATIONS);
    const bufs = new Array<Buffer>(rotations);
    bufs[0] = encodePrepared(plan0, key, node.name, qtype);
    for (let i = 1; i < rotations; i++) {
      const plan = planAnswer(scope, first, node.name, qtype, Math.floor((i * n) / rotations))!;
      bufs[i] = encodePrepared(plan, key, node.name, qtype);
    }
    prepared.push({ qtype, bufs, next: 0 });
  }
  // Kept for the table's life: an exact-size copy (an array grown by push reserves 17 slots).
  return prepared.slice();
}

