// Starts a real DNS server on 127.0.0.1 with an ephemeral port, a silent logger and a fresh registry.
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ConfigBundle } from '../../dns-server/config/index.js';
import { VALIDATOR } from '../../dns-server/config/validate.js';
import type { HandlerState } from '../../dns-server/handler.js';
import { startDnsServer } from '../../dns-server/index.js';
import type { DnsServer, DnsServerOptions } from '../../dns-server/index.js';
import { ServerMetrics } from '../../dns-server/metrics.js';
import { ShardStore } from '../../dns-server/reload.js';
import { EMPTY_TABLES } from '../../dns-server/tables/build.js';

export const silent = pino({ level: 'silent' });

export async function startTestServer(bundle?: unknown, opts: Partial<DnsServerOptions> = {}): Promise<DnsServer> {
  const s = await startDnsServer({ port: 0, logger: silent, registry: new Registry(), ...opts });
  if (bundle !== undefined) {
    const r = s.applyBundle(bundle);
    if (r.refused.length) throw new Error(`test bundle refused: ${JSON.stringify(r.refused)}`);
  }
  return s;
}

/** A query handler's state loaded with `bundle` (no server, no fallback), and the store that reloads it. */
export function handlerState(bundle: ConfigBundle): HandlerState & { store: ShardStore } {
  const metrics = new ServerMetrics();
  const st: HandlerState = { tables: EMPTY_TABLES, fallback: undefined, metrics, udpPayloadSize: 1232 };
  const store = new ShardStore(st, metrics, silent, VALIDATOR);
  const r = store.applyBundle(bundle);
  if (r.refused.length) throw new Error(`test bundle refused: ${JSON.stringify(r.refused)}`);
  return Object.assign(st, { store });
}
