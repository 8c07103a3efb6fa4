// The Argo CD health checks (argocd/splitdns.io/<Kind>/health.lua and argocd/argocd-cm.yaml),
// run in a Lua VM (fengari) on statuses produced by the real compiler from samples/ and from
// resources built to be rejected, completed by the operator's own desiredStatus() as it writes them.

import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { compile } from '../../operator/compile/index.js';
import type { Snapshot, ResourceResult, ResourceKind, Condition } from '../../operator/compile/index.js';
import { desiredStatus, stampTransitions } from '../../operator/controller/status-writer.js';
import { runHealthLua } from './lua-health.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const KINDS: ResourceKind[] = ['DNSZone', 'DNSForwarder', 'StaticHost'];
const NOW = new Date('2026-03-01T12:00:00Z');
const OPTS = { clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' };

const script = (kind: string) => readFileSync(join(ROOT, 'argocd', 'splitdns.io', kind, 'health.lua'), 'utf8');

type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec?: unknown; status?: unknown };

function loadSamples(): Obj[] {
  const dir = join(ROOT, 'samples');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Obj)).filter(Boolean);
}

function snapshotOf(objs: Obj[]): Snapshot {
  const s: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [] };
  const by: Record<string, object[]> = { DNSZone: s.zones, DNSForwarder: s.forwarders, StaticHost: s.staticHosts, Service: s.services, EndpointSlice: s.endpointSlices, Namespace: s.namespaces };
  for (const o of objs) by[o.kind]?.push(o);
  return s;
}

/** The live object as Argo CD sees it: the manifest plus the status compile() produced for it. */
function withStatus(o: Obj, r: ResourceResult): Obj {
  return { ...o, metadata: { ...o.metadata, generation: r.generation }, status: r.status };
}

function resultFor(results: ResourceResult[], o: Obj): ResourceResult {
  const r = results.find((x) => x.kind === o.kind && x.name === o.metadata.name && (x.namespace ?? undefined) === (o.metadata.namespace ?? undefined));
  if (!r) throw new Error(`compile() gave no status for ${o.kind}/${String(o.metadata.name)}`);
  return r;
}

/** The status the operator writes: compile()'s, with Programmed/Ready from its confirmation. */
function operatorStatus(r: ResourceResult, programmed: boolean, noReplicas = false): ResourceResult['status'] {
  return stampTransitions(desiredStatus(r, programmed, noReplicas), undefined, NOW.getTime());
}

describe('install: Argo CD health checks', () => {
  const samples = loadSamples();
  const crs = samples.filter((o) => (KINDS as string[]).includes(o.kind));
  const compiled = compile(snapshotOf(samples), OPTS);

  it('ships one health.lua per kind in the bundled layout, all the same script', () => {
    const texts = KINDS.map(script);
    for (const t of texts) expect(t).to.equal(texts[0]);
    expect(texts[0]).to.match(/return hs\s*$/);
  });

  it('argocd-cm snippet carries exactly the health.lua of each kind', () => {
    const cm = parse(readFileSync(join(ROOT, 'argocd', 'argocd-cm.yaml'), 'utf8')) as { kind: string; metadata: { name: string }; data: Record<string, string> };
    expect(cm.kind).to.equal('ConfigMap');
    expect(cm.metadata.name).to.equal('argocd-cm');
    expect(Object.keys(cm.data).sort()).to.deep.equal(KINDS.map((k) => `resource.customizations.health.splitdns.io_${k}`).sort());
    for (const k of KINDS) expect(cm.data[`resource.customizations.health.splitdns.io_${k}`]).to.equal(script(k));
  });

  it('the samples cover every kind', () => {
    expect([...new Set(crs.map((o) => o.kind))].sort()).to.deep.equal([...KINDS].sort());
  });

  it('reports Progressing for a resource the operator has not written status on yet', () => {
    for (const o of crs) {
      const hs = runHealthLua(script(o.kind), o);
      expect(hs.status, `${o.kind}/${String(o.metadata.name)}`).to.equal('Progressing');
      expect(hs.message).to.match(/operator/);
    }
  });

  it('reports Progressing while compiled and accepted but not yet Programmed, with the Programmed message', () => {
    for (const o of crs) {
      const r = resultFor(compiled.resources, o);
      expect(r.status.conditions.find((c) => c.type === 'Accepted')?.status).to.equal('True');
      const hs = runHealthLua(script(o.kind), withStatus(o, { ...r, status: operatorStatus(r, false) }));
      const p = r.status.conditions.find((c) => c.type === 'Programmed')!;
      expect(hs).to.deep.equal({ status: 'Progressing', message: `${p.reason}: ${p.message}` });
    }
  });

  it('reports Progressing with the operator\'s message while no DNS server replica is ready to confirm', () => {
    for (const o of crs) {
      const r = resultFor(compiled.resources, o);
      const st = operatorStatus(r, false, true);
      const p = st.conditions.find((c) => c.type === 'Programmed')!;
      expect(p.reason).to.equal('NoReadyReplicas');
      expect(runHealthLua(script(o.kind), withStatus(o, { ...r, status: st }))).to.deep.equal({ status: 'Progressing', message: `${p.reason}: ${p.message}` });
    }
  });

  it('reports Healthy once the operator has confirmed every ready replica serves it', () => {
    for (const o of crs) {
      const r = resultFor(compiled.resources, o);
      const hs = runHealthLua(script(o.kind), withStatus(o, { ...r, status: operatorStatus(r, true) }));
      expect(hs.status, `${o.kind}/${String(o.metadata.name)}`).to.equal('Healthy');
    }
  });

  it('reports Progressing when observedGeneration is behind metadata.generation, even if the old status was Ready or Degraded', () => {
    for (const o of crs) {
      const r = resultFor(compiled.resources, o);
      const live = withStatus(o, { ...r, status: operatorStatus(r, true) });
      expect(runHealthLua(script(o.kind), live).status).to.equal('Healthy');
      live.metadata.generation = r.generation + 1;
      expect(runHealthLua(script(o.kind), live)).to.deep.equal({ status: 'Progressing', message: `Waiting for the splitdns operator to observe generation ${r.generation + 1}` });
    }
    const bad = rejected().find((x) => x.kind === 'StaticHost')!;
    expect(runHealthLua(script('StaticHost'), bad).status).to.equal('Degraded');
    bad.metadata.generation = (bad.metadata.generation as number) + 1;
    expect(runHealthLua(script('StaticHost'), bad).status).to.equal('Progressing');
  });

  /** Resources the compiler rejects, each with the status compile() gave it. */
  function rejected(): Obj[] {
    const objs: Obj[] = [
      ...samples,
      { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: 'sneaky', namespace: 'team-b', generation: 1, creationTimestamp: '2026-02-01T00:00:00Z' }, spec: { hostnames: ['www2.corp.example'], addresses: ['10.9.9.9'] } },
      { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: 'late', namespace: 'splitdns', generation: 3, creationTimestamp: '2026-02-02T00:00:00Z' }, spec: { hostnames: ['db.internal.local'], addresses: ['10.0.0.6'] } },
      { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'corp-again', generation: 2, creationTimestamp: '2026-02-03T00:00:00Z' }, spec: { domain: 'corp.example' } },
      { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: 'broken', generation: 1, creationTimestamp: '2026-02-04T00:00:00Z' }, spec: { domains: ['example.net'], upstreams: [{ address: 'not-an-address', port: 53, protocol: 'udp' }] } },
    ];
    const res = compile(snapshotOf(objs), OPTS);
    return objs.slice(samples.length).map((o) => { const r = resultFor(res.resources, o); return withStatus(o, { ...r, status: operatorStatus(r, true) }); });
  }

  it('reports Degraded with the Accepted condition\'s reason and message for NotPermitted, Conflict and InvalidSpec', () => {
    const seen = new Set<string>();
    for (const live of rejected()) {
      const acc = (live.status as ResourceResult['status']).conditions.find((c) => c.type === 'Accepted')!;
      expect(acc.status, `${live.kind}/${String(live.metadata.name)} should be rejected`).to.equal('False');
      seen.add(acc.reason);
      expect(runHealthLua(script(live.kind), live)).to.deep.equal({ status: 'Degraded', message: `${acc.reason}: ${acc.message}` });
    }
    expect([...seen].sort()).to.deep.equal(['Conflict', 'InvalidSpec', 'NotPermitted']);
  });

  it('reports Progressing when Programmed is False for a reason other than rejection, and tolerates missing fields', () => {
    const o = crs[0]!;
    const r = resultFor(compiled.resources, o);
    const conditions = r.status.conditions.map((c) => c.type === 'Programmed' ? { ...c, status: 'False', reason: 'NotServed', message: '1/2 ready DNS servers serve zone/corp.example' } : c);
    expect(runHealthLua(script(o.kind), withStatus(o, { ...r, status: { ...r.status, conditions: conditions as Condition[] } })))
      .to.deep.equal({ status: 'Progressing', message: 'NotServed: 1/2 ready DNS servers serve zone/corp.example' });
    expect(runHealthLua(script(o.kind), { ...o, status: { observedGeneration: 0 } }).status).to.equal('Progressing');
    expect(runHealthLua(script(o.kind), { ...o, status: { conditions: [] } }).status).to.equal('Progressing');
  });
});
