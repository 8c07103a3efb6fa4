// Starts a real DNS server on 127.0.0.1 with an ephemeral port, a silent logger and a fresh registry.
import pino from 'pino';
import { Registry } from 'prom-client';
import { startDnsServer } from '../../dns-server/index.js';
import type { DnsServer, DnsServerOptions } from '../../dns-server/index.js';

export const silent = pino({ level: 'silent' });

export async function startTestServer(bundle?: unknown, opts: Partial<DnsServerOptions> = {}): Promise<DnsServer> {
  const s = await startDnsServer({ port: 0, logger: silent, registry: new Registry(), ...opts });
  if (bundle !== undefined) {
    const r = s.applyBundle(bundle);
    if (r.refused.length) throw new Error(`test bundle refused: ${JSON.stringify(r.refused)}`);
  }
  return s;
}
