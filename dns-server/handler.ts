// The query path: bytes in, bytes out (or nothing). Transport-agnostic: UDP and TCP both call
// handleQuery(). The common answers are a copy of prepared bytes plus a patch (response.ts);
// negative answers are header + question + the zone's SOA; the rest goes through planAnswer.

import type { Fallback, FallbackQuery } from './fallback.js';
import { locate, planAnswer, tablesScope, wildcardFor } from './lookup.js';
import { preparePtr, prepareServicesNode } from './tables/build.js';
import type { ServicesTable } from './tables/types.js';
import type { ServerMetrics } from './metrics.js';
import type { Tables } from './tables/types.js';
import { CLASS_IN, EXT_RCODE_BADVERS, RCODE, TYPE } from './wire/constants.js';
import { keyToName } from './wire/name.js';
import { newParsedQuery, parseQuery, Verdict } from './wire/query.js';
import { encodePlan, errorFromQuery, negativeFromQuery, patchPrepared } from './wire/response.js';

export interface HandlerState {
  /** The live tables; replaced (never mutated) on reload. */
  tables: Tables;
  fallback: Fallback | undefined;
  metrics: ServerMetrics;
  /** Our EDNS UDP payload size. */
  udpPayloadSize: number;
}

export const PROTO_UDP = 0;
export const PROTO_TCP = 1;

const q = newParsedQuery();
let slowRotation = 0;
const now = (): number => performance.now();

/**
 * Answers one query. Returns the response, null to send nothing (dropped), or a promise of
 * either (forwarded). Never throws for any input bytes.
 */
export function handleQuery(msg: Buffer, proto: 0 | 1, st: HandlerState): Buffer | null | Promise<Buffer | null> {
  const t0 = now();
  const m = st.metrics;
  parseQuery(msg, q);
  if (q.verdict !== Verdict.Ok) {
    if (q.verdict === Verdict.Drop) { m.drop(); return null; }
    m.request(proto, 0);
    const rcode = q.verdict === Verdict.NotImp ? RCODE.NOTIMP : RCODE.FORMERR;
    m.response(rcode, (now() - t0) / 1000);
    return errorFromQuery(msg, 12, rcode);
  }
  m.request(proto, q.qtype);
  const optSize = q.ednsPresent ? st.udpPayloadSize : -1;
  if (q.ednsPresent && q.ednsVersion > 0) {
    // RFC 6891 §6.1.3: BADVERS, with the highest version we do (0) in the OPT.
    m.response(EXT_RCODE_BADVERS, (now() - t0) / 1000);
    return errorFromQuery(msg, q.qend, 0, optSize, 1, q.ednsDo);
  }
  const maxSize = proto === PROTO_TCP ? 65535 : q.ednsPresent ? Math.min(q.ednsUdpSize, st.udpPayloadSize) : 512;
  let out: Buffer | null | Promise<Buffer | null>;
  try {
    out = answer(msg, proto, st, optSize, maxSize);
  } catch {
    out = errorFromQuery(msg, q.qend, RCODE.SERVFAIL, optSize, 0, q.ednsDo); // a bug must not stop the server
  }
  if (!(out instanceof Promise)) {
    m.response(out === null ? RCODE.REFUSED : out[3] & 0x0f, (now() - t0) / 1000);
    return out;
  }
  return out.then((r) => { m.response(r === null ? RCODE.SERVFAIL : r[3] & 0x0f, (now() - t0) / 1000); return r; });
}

function answer(msg: Buffer, proto: 0 | 1, st: HandlerState, optSize: number, maxSize: number): Buffer | null | Promise<Buffer | null> {
  const key = q.key;
  const qtype = q.qtype;
  // Only class IN is served (never forwarded or cached otherwise); zone transfers are not offered.
  if (q.qclass !== CLASS_IN || q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return errorFromQuery(msg, q.qend, RCODE.REFUSED, optSize, 0, q.ednsDo);
  const t = st.tables;
  // No configuration yet (a worker still loading, a source still listing): SERVFAIL, so the
  // client asks another server instead of taking "refused" or "no such name" for an answer.
  if (t.generation === 0) return errorFromQuery(msg, q.qend, RCODE.SERVFAIL, optSize, 0, q.ednsDo);
  const loc = locate(t, key);
  switch (loc.kind) {
    case 'zone': {
      const node = loc.table.names.get(key);
      if (node !== undefined) {
        if (!node.ready) prepareServicesNode(key, node, loc.table as ServicesTable); // first query of a generated name
        const ans = node.prepared.get(qtype);
        if (ans !== undefined) {
          const bufs = ans.bufs;
          const tpl = bufs.length === 1 ? bufs[0] : bufs[ans.next++ % bufs.length];
          return patchPrepared(tpl, msg, q.qend, optSize, q.ednsDo, maxSize);
        }
        if (!node.cname && qtype !== TYPE.ANY && !node.rrsets.has(qtype)) {
          return negativeFromQuery(msg, q.qend, RCODE.NOERROR, loc.originOffset, loc.zone.soaTail, optSize, q.ednsDo, maxSize);
        }
        break; // slow path
      }
      if (loc.clusterEnt || loc.table.ents.has(key)) return negativeFromQuery(msg, q.qend, RCODE.NOERROR, loc.originOffset, loc.zone.soaTail, optSize, q.ednsDo, maxSize);
      if (wildcardFor(loc.table, key) !== undefined) break; // slow path: synthesis
      return negativeFromQuery(msg, q.qend, RCODE.NXDOMAIN, loc.originOffset, loc.zone.soaTail, optSize, q.ednsDo, maxSize);
    }
    case 'hosts':
    case 'reverse': {
      const node = loc.node;
      if (!node.ready) preparePtr(node); // first query of a reverse name
      const ans = node.prepared.get(qtype);
      if (ans !== undefined) {
        const bufs = ans.bufs;
        return patchPrepared(bufs.length === 1 ? bufs[0] : bufs[ans.next++ % bufs.length], msg, q.qend, optSize, q.ednsDo, maxSize);
      }
      break;
    }
    case 'none': {
      const fb = st.fallback;
      if (fb === undefined) return errorFromQuery(msg, q.qend, RCODE.REFUSED, optSize, 0, q.ednsDo);
      const fq: FallbackQuery = {
        msg, key, qtype, qclass: q.qclass, proto: proto === PROTO_TCP ? 'tcp' : 'udp', maxSize, optSize,
        edns: { present: q.ednsPresent, version: q.ednsVersion, udpSize: q.ednsUdpSize, dnssecOk: q.ednsDo },
      };
      const qend = q.qend;
      const dnssecOk = q.ednsDo;
      const r = fb.resolve(fq);
      if (r === null) return errorFromQuery(msg, qend, RCODE.REFUSED, optSize, 0, dnssecOk);
      if (!(r instanceof Promise)) return r;
      return r.then((b) => b ?? errorFromQuery(msg, qend, RCODE.REFUSED, optSize, 0, dnssecOk), () => errorFromQuery(msg, qend, RCODE.SERVFAIL, optSize, 0, dnssecOk));
    }
  }
  // Slow path: compose from the live tables (wildcards, CNAME chains leaving their shard, ANY, NODATA without SOA).
  const scope = tablesScope(t);
  const qname = keyToName(key);
  const plan = planAnswer(scope, scope.find(key), qname, qtype, slowRotation++);
  if (plan === undefined) return errorFromQuery(msg, q.qend, RCODE.REFUSED, optSize, 0, q.ednsDo);
  return encodePlan(plan, {
    id: q.id, rd: q.flags2 & 1, question: msg.subarray(12, q.qend), qname, optSize, optExtRcode: 0, dnssecOk: q.ednsDo, maxSize,
  });
}
