// What to dig: a few example queries picked from the generated configuration.

import type { ConfigBundle } from '../../dns-server/config/types.js';

export function digHints(bundle: ConfigBundle, address: string, port: number, dir: string, httpPort: number | null, pid?: number): string {
  const at = `dig @${address} -p ${port}`;
  const lines = [`splitdns: serving ${dir} on ${address}:${port} (UDP and TCP)${httpPort !== null ? `, ops on http://${address}:${httpPort}/status` : ''}`, 'Try:'];
  const picks: string[] = [];
  const order = { zone: 0, hosts: 1, services: 2, forwarders: 3 } as const;
  for (const s of [...bundle.shards].sort((a, b) => order[a.kind] - order[b.kind])) {
    if (s.kind === 'zone' && !s.clusterDomain) {
      const rs = s.rrsets.find((r) => r.type === 'A' && r.name.startsWith('www.')) ?? s.rrsets.find((r) => (r.type === 'A' || r.type === 'AAAA') && !r.name.startsWith('*'));
      if (rs) picks.push(`${at} ${rs.name.slice(0, -1)} ${rs.type}`);
      const mx = s.rrsets.find((r) => r.type === 'MX' || r.type === 'TXT');
      if (mx) picks.push(`${at} ${mx.name.slice(0, -1)} ${mx.type}`);
    } else if (s.kind === 'hosts' && s.rrsets[0]) picks.push(`${at} ${s.rrsets[0].name.slice(0, -1)}`);
    else if (s.kind === 'services') {
      const a = s.rrsets.find((r) => r.type === 'A' && r.name.split('.').length === 6);
      if (a) picks.push(`${at} ${a.name.slice(0, -1)}`);
      const srv = s.rrsets.find((r) => r.type === 'SRV');
      if (srv && picks.length < 8) picks.push(`${at} ${srv.name.slice(0, -1)} SRV`);
    } else if (s.kind === 'forwarders') {
      for (const f of s.forwarders) for (const d of f.domains) if (d !== '.') picks.push(`${at} www.${d.slice(0, -1)}   # forwarded to ${f.upstreams.map((u) => `${u.address}:${u.port}`).join(', ')}`);
    }
  }
  const ptr = bundle.shards.flatMap((s) => s.reverse).find((r) => r.name.endsWith('.in-addr.arpa.'));
  if (ptr) picks.push(`${at} -x ${ptr.name.replace('.in-addr.arpa.', '').split('.').reverse().join('.')}`);
  if (picks.length === 0) picks.push(`(no names yet: add manifests to ${dir})`);
  const out = lines.concat(picks.slice(0, 10).map((p) => '  ' + p));
  const first = /^dig \S+ -p \d+ (\S+)/.exec(picks[0]);
  if (first && !first[1].startsWith('-')) out.push(`Why that answer: npx splitdns explain ${first[1]} --manifests ${dir}`);
  if (pid !== undefined) out.push(`Log every query: kill -USR2 ${pid} (again to stop)`);
  return out.join('\n') + '\n';
}
