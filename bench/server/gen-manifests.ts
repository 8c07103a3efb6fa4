// Manifests for the "serve vs the standalone server" part of the server bench (issue 14): a
// DNSZone bench.example (h0..h199, the harness's readiness name) and SERVICES ClusterIP Services
// in 100 namespaces, written as one YAML file into DIR; and a dnsperf query file of their cluster
// names beside it (80% A hits, 10% AAAA: NODATA, 10% a search-path miss: NXDOMAIN), the mix of
// ../shared/bench's queries.txt. `splitdns serve DIR` serves it; `splitdns render DIR` gives the
// standalone server the same configuration.
// Usage: node gen-manifests.js DIR [SERVICES=1000]
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const SERVICES = Number(process.argv[3] ?? 1000);
if (!dir) { console.error('usage: gen-manifests.js DIR [SERVICES]'); process.exit(2); }
fs.mkdirSync(dir, { recursive: true });
const docs: string[] = [];
const records = Array.from({ length: 200 }, (_, i) => `    - { name: h${i}, type: A, a: [10.0.${i >> 8}.${i & 255}] }`);
docs.push(`apiVersion: splitdns.io/v1alpha1
kind: DNSZone
metadata: { name: bench }
spec:
  domain: bench.example
  ttl: 3600
  nameServers: [ns1.bench.example]
  records:
    - { name: ns1, type: A, a: [10.255.0.1] }
${records.join('\n')}`);
const names: string[] = [];
for (let s = 0; s < SERVICES; s++) {
  const ns = `ns${s % 100}`;
  if (s < 100) docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }`);
  docs.push(`apiVersion: v1
kind: Service
metadata: { name: svc${s}, namespace: ${ns} }
spec:
  type: ClusterIP
  clusterIP: 10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}
  ports: [{ name: http, port: 80, protocol: TCP }]`);
  names.push(`svc${s}.${ns}.svc.cluster.local.`);
}
fs.writeFileSync(path.join(dir, 'bench.yaml'), docs.join('\n---\n') + '\n');
const lines: string[] = [];
for (let i = 0; i < 10000; i++) {
  const name = names[(i * 7919) % names.length];
  const k = i % 10;
  lines.push(k === 8 ? `${name} AAAA` : k === 9 ? `${name.slice(0, -1)}.default.svc.cluster.local. A` : `${name} A`);
}
fs.writeFileSync(path.join(dir, 'queries.txt'), lines.join('\n') + '\n');
