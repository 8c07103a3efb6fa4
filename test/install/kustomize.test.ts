// Renders config/ with `kubectl kustomize` and checks what a cluster admin would be applying:
// hardened, probed, bounded containers; a DNS Deployment that survives a rolling update and a
// node drain; and RBAC that grants nothing beyond what the code calls.

import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderKustomization } from './render.js';
import type { K8sObject } from './render.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const NS = 'splitdns';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

interface Container { name: string; image: string; command?: string[]; args?: string[]; ports?: { name?: string; containerPort: number; protocol?: string }[]; readinessProbe?: Rec; livenessProbe?: Rec; resources?: Rec; securityContext?: Rec }
interface PodSpec { containers: Container[]; initContainers?: Container[]; securityContext?: Rec; serviceAccountName?: string; terminationGracePeriodSeconds?: number; topologySpreadConstraints?: Rec[]; affinity?: Rec; hostNetwork?: boolean }
interface Workload extends K8sObject { spec: { replicas?: number; strategy?: Rec; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }

/** "--flag=value" or "--flag value" from a container's args. */
function flag(c: Container, name: string): string | undefined {
  const args = c.args ?? [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i]!.startsWith(`--${name}=`)) return args[i]!.slice(name.length + 3);
  }
  return undefined;
}

/** The (apiGroup, resource, verb) triples of a set of rules. */
function grants(rules: Rule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g || 'core'}/${res}:${v}`);
  return out;
}

describe('install: kustomize config/', () => {
  let objs: K8sObject[];
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  const one = (kind: string, name: string) => {
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`config/ renders no ${kind}/${name}`);
    return o;
  };
  const workloads = () => objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)) as Workload[];
  const dns = () => one('Deployment', 'splitdns-dns') as Workload;
  const operator = () => one('Deployment', 'splitdns-operator') as Workload;

  before(function () {
    this.timeout(60000);
    objs = renderKustomization(join(ROOT, 'config'));
  });

  it('renders the namespace, the CRDs, RBAC, both Deployments, the PDB, the Services and the NetworkPolicy', () => {
    const kinds = new Set(objs.map((o) => o.kind));
    for (const k of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service', 'NetworkPolicy']) expect(kinds, k).to.include(k);
    expect(workloads().map((w) => w.metadata.name).sort()).to.deep.equal(['splitdns-dns', 'splitdns-operator']);
  });

  it('takes the CRDs from crds/ unchanged apart from the Argo CD annotations (no copy to drift)', () => {
    const dir = join(ROOT, 'crds');
    const source = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as K8sObject)).filter((o) => o?.kind === 'CustomResourceDefinition');
    expect(source.length).to.be.greaterThan(0);
    const rendered = of('CustomResourceDefinition');
    expect(rendered.map((o) => o.metadata.name).sort()).to.deep.equal(source.map((o) => o.metadata.name).sort());
    for (const s of source) {
      const r = structuredClone(rendered.find((o) => o.metadata.name === s.metadata.name)!);
      expect(r.metadata.annotations?.['argocd.argoproj.io/sync-wave']).to.equal('-2');
      delete r.metadata.annotations;
      const want = structuredClone(s);
      want.metadata.labels = { ...want.metadata.labels, 'app.kubernetes.io/part-of': 'splitdns' };
      expect(r).to.deep.equal(want);
    }
  });

  it('puts every namespaced object in the splitdns namespace', () => {
    const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of objs) {
      if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).to.equal(undefined);
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).to.equal(NS);
    }
  });

  it('gives every container readiness and liveness probes, requests and limits for cpu and memory', () => {
    for (const w of workloads()) {
      const pod = w.spec.template.spec;
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const at = `${w.metadata.name}/${c.name}`;
        expect(c.readinessProbe, `${at} readinessProbe`).to.be.an('object');
        expect(c.livenessProbe, `${at} livenessProbe`).to.be.an('object');
        for (const side of ['requests', 'limits']) for (const r of ['cpu', 'memory']) expect(rec(rec(c.resources)[side])[r], `${at} resources.${side}.${r}`).to.be.a('string');
      }
    }
  });

  it('pins the operator\'s V8 heap in NODE_OPTIONS, within its memory limit (ADR 0019)', () => {
    // Without the flags V8 sizes the heap from the container's limit: 1 MB semi-spaces at 512Mi.
    const c = operator().spec.template.spec.containers.find((x) => x.name === 'operator')!;
    const env = new Map(list((c as unknown as Rec).env).map((e) => [String(rec(e).name), rec(e).value]));
    const flags = String(env.get('NODE_OPTIONS') ?? '');
    const mb = (flag: string) => Number(flags.match(new RegExp(`--${flag}=(\\d+)`))?.[1] ?? NaN);
    expect(mb('max-semi-space-size'), flags).to.be.within(2, 16);
    expect(mb('max-old-space-size'), flags).to.be.greaterThan(0);
    expect(env.get('MALLOC_ARENA_MAX')).to.equal('2');
    const limit = String(rec(rec(c.resources).limits).memory);
    expect(limit).to.match(/^\d+Mi$/);
    // The heap V8 may grow to (the old generation, plus the young generation's two semi-spaces
    // committed) with ~90 MiB of the process outside it (bench/scale-api's mem-probe: 76-94 MiB
    // at 10,000 Services) stays under the limit, so a heap that outgrows it fails with V8's
    // "heap out of memory" in the log, not a silent OOM kill.
    expect(mb('max-old-space-size') + 2 * mb('max-semi-space-size') + 90, `${flags} under ${limit}`).to.be.at.most(parseInt(limit, 10));
  });

  it('runs every container non-root, read-only root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault', () => {
    for (const w of workloads()) {
      const pod = w.spec.template.spec;
      expect(pod.hostNetwork ?? false, `${w.metadata.name} hostNetwork`).to.equal(false);
      const podSc = rec(pod.securityContext);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const at = `${w.metadata.name}/${c.name}`;
        const sc = rec(c.securityContext);
        expect(sc.runAsNonRoot ?? podSc.runAsNonRoot, `${at} runAsNonRoot`).to.equal(true);
        const uid = sc.runAsUser ?? podSc.runAsUser;
        if (uid !== undefined) expect(uid, `${at} runAsUser`).to.be.greaterThan(0);
        expect(sc.readOnlyRootFilesystem, `${at} readOnlyRootFilesystem`).to.equal(true);
        expect(sc.allowPrivilegeEscalation, `${at} allowPrivilegeEscalation`).to.equal(false);
        expect(sc.privileged ?? false, `${at} privileged`).to.equal(false);
        expect(rec(sc.capabilities).drop, `${at} capabilities.drop`).to.deep.equal(['ALL']);
        expect(list(rec(sc.capabilities).add), `${at} capabilities.add (listen above 1024 instead)`).to.deep.equal([]);
        expect(rec(sc.seccompProfile ?? podSc.seccompProfile).type, `${at} seccompProfile`).to.equal('RuntimeDefault');
        for (const p of c.ports ?? []) expect(p.containerPort, `${at} port ${p.name}`).to.be.greaterThan(1023);
      }
    }
  });

  it('runs one image for every container', () => {
    const images = new Set(workloads().flatMap((w) => w.spec.template.spec.containers.map((c) => c.image)));
    expect(images.size).to.equal(1);
    expect([...images][0]).to.match(/^[\w./-]+:[\w.-]+$/);
  });

  it('runs the operator as two replicas (leader election picks one)', () => {
    expect(operator().spec.replicas).to.equal(2);
    expect(operator().spec.template.spec.containers[0]!.args?.[0]).to.equal('operator');
  });

  it('runs at least two DNS servers spread across nodes, with a PodDisruptionBudget', () => {
    const d = dns();
    expect(d.spec.replicas).to.be.at.least(2);
    const pod = d.spec.template.spec;
    const labels = d.spec.template.metadata.labels;
    const matches = (sel: unknown) => Object.entries(rec(rec(sel).matchLabels)).every(([k, v]) => labels[k] === v) && Object.keys(rec(rec(sel).matchLabels)).length > 0;
    const spread = (pod.topologySpreadConstraints ?? []).some((t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector));
    const anti = list(rec(rec(rec(pod.affinity).podAntiAffinity)).requiredDuringSchedulingIgnoredDuringExecution)
      .concat(list(rec(rec(pod.affinity).podAntiAffinity).preferredDuringSchedulingIgnoredDuringExecution).map((p) => rec(p).podAffinityTerm))
      .some((t) => rec(t).topologyKey === 'kubernetes.io/hostname' && matches(rec(t).labelSelector));
    expect(spread || anti, 'topology spread or anti-affinity over kubernetes.io/hostname').to.equal(true);
    const pdbs = of('PodDisruptionBudget').filter((p) => matches(rec(p.spec).selector));
    expect(pdbs, 'a PDB selecting the DNS pods').to.have.length(1);
    const spec = rec(pdbs[0]!.spec);
    if (spec.maxUnavailable !== undefined) expect(spec.maxUnavailable).to.be.within(1, d.spec.replicas! - 1);
    else expect(spec.minAvailable).to.be.within(1, d.spec.replicas! - 1);
  });

  it('loses no query in a rolling update: surge before stop, readiness on /readyz, grace > lame duck > readiness period', () => {
    const d = dns();
    expect(rec(d.spec.strategy).type).to.equal('RollingUpdate');
    expect(rec(rec(d.spec.strategy).rollingUpdate).maxUnavailable).to.equal(0);
    const pod = d.spec.template.spec;
    const c = pod.containers[0]!;
    const ready = c.readinessProbe!;
    expect(rec(ready.httpGet).path).to.equal('/readyz');
    const lameDuckMs = Number(flag(c, 'lame-duck-ms'));
    expect(lameDuckMs, '--lame-duck-ms set').to.be.greaterThan(0);
    const detectMs = 1000 * Number(ready.periodSeconds ?? 10) * Number(ready.failureThreshold ?? 3);
    expect(lameDuckMs, 'lame duck longer than readiness needs to notice, with room for endpoint propagation').to.be.at.least(detectMs + 5000);
    expect(1000 * (pod.terminationGracePeriodSeconds ?? 30), 'grace period longer than the lame duck').to.be.greaterThan(lameDuckMs);
    expect(rec(c.livenessProbe!.httpGet).path).to.equal('/healthz');
  });

  it('maps port 53 UDP and TCP in the DNS Service to the port the server listens on', () => {
    const d = dns();
    const c = d.spec.template.spec.containers[0]!;
    const listen = Number(flag(c, 'port'));
    const svc = one('Service', 'splitdns-dns');
    const ports = list(rec(svc.spec).ports).map(rec);
    const selector = rec(rec(svc.spec).selector);
    for (const [k, v] of Object.entries(selector)) expect(d.spec.template.metadata.labels[k]).to.equal(v);
    for (const proto of ['UDP', 'TCP']) {
      const p = ports.find((x) => x.port === 53 && (x.protocol ?? 'TCP') === proto);
      expect(p, `Service port 53/${proto}`).to.not.equal(undefined);
      const target = typeof p!.targetPort === 'number' ? p!.targetPort : c.ports?.find((cp) => cp.name === p!.targetPort)?.containerPort;
      expect(target, `53/${proto} target`).to.equal(listen);
      expect(c.ports?.some((cp) => cp.containerPort === listen && (cp.protocol ?? 'TCP') === proto)).to.equal(true);
    }
  });

  it('exposes the metrics port of both components on a Service labelled for the ServiceMonitor', () => {
    for (const w of [dns(), operator()]) {
      const labels = w.spec.template.metadata.labels;
      const svc = of('Service').find((s) => s.metadata.labels?.['splitdns.io/metrics'] === 'true'
        && Object.entries(rec(rec(s.spec).selector)).every(([k, v]) => labels[k] === v));
      expect(svc, `metrics Service for ${w.metadata.name}`).to.not.equal(undefined);
      const httpPort = Number(flag(w.spec.template.spec.containers[0]!, 'http-port'));
      const port = list(rec(svc!.spec).ports).map(rec).find((p) => p.name === 'http');
      const c = w.spec.template.spec.containers[0]!;
      expect(c.ports?.find((cp) => cp.name === port?.targetPort)?.containerPort).to.equal(httpPort);
    }
  });

  it('ships a NetworkPolicy: DNS on the listen port from anywhere, the ops port only from the operator and Prometheus', () => {
    const d = dns();
    const c = d.spec.template.spec.containers[0]!;
    const listen = Number(flag(c, 'port'));
    const ops = Number(flag(c, 'http-port'));
    const labels = d.spec.template.metadata.labels;
    const policies = of('NetworkPolicy').filter((p) => Object.entries(rec(rec(rec(p.spec).podSelector).matchLabels)).every(([k, v]) => labels[k] === v));
    expect(policies.map((p) => p.metadata.name), 'NetworkPolicies selecting the DNS pods').to.deep.equal(['splitdns-dns']);
    const spec = rec(policies[0]!.spec);
    expect(Object.keys(rec(rec(spec.podSelector).matchLabels)).length, 'selects by label').to.be.above(0);
    expect(spec.policyTypes).to.deep.equal(['Ingress']);
    const rules = list(spec.ingress).map(rec);
    const opens = (r: Rec, port: number, proto: string) => list(r.ports).map(rec).some((p) => p.port === port && (p.protocol ?? 'TCP') === proto);
    // DNS: a rule for the listen port, UDP and TCP, with no `from` (any source, nodes included).
    for (const proto of ['UDP', 'TCP']) {
      expect(rules.some((r) => opens(r, listen, proto) && r.from === undefined), `${listen}/${proto} from anywhere`).to.equal(true);
    }
    // Ops: every rule that opens it names its peers (a rule without ports would open it too).
    const opsRules = rules.filter((r) => r.ports === undefined || opens(r, ops, 'TCP'));
    expect(opsRules.length, `rules opening ${ops}`).to.be.above(0);
    const peers = opsRules.flatMap((r) => { expect(r.from, `a rule opening ${ops} to any source`).to.be.an('array'); return list(r.from).map(rec); });
    const op = operator().spec.template.metadata.labels;
    const selects = (peer: Rec, podLabels: Record<string, string>) => {
      const m = rec(rec(peer.podSelector).matchLabels);
      return Object.keys(m).length > 0 && Object.entries(m).every(([k, v]) => podLabels[k] === v);
    };
    for (const peer of peers) {
      expect(peer.ipBlock, 'no ipBlock peer on the ops port').to.equal(undefined);
      const isOperator = peer.namespaceSelector === undefined && selects(peer, op);
      const isPrometheus = selects(peer, { 'app.kubernetes.io/name': 'prometheus' });
      expect(isOperator || isPrometheus, `peer ${JSON.stringify(peer)} is the operator or Prometheus`).to.equal(true);
    }
    expect(peers.some((p) => p.namespaceSelector === undefined && selects(p, op)), 'the operator (its own namespace) reaches the ops port').to.equal(true);
    expect(peers.some((p) => selects(p, { 'app.kubernetes.io/name': 'prometheus' })), 'Prometheus reaches the ops port').to.equal(true);
    // Nothing else is opened.
    for (const r of rules) for (const p of list(r.ports).map(rec)) expect([listen, ops], `port ${String(p.port)}`).to.include(p.port);
  });

  describe('RBAC', () => {
    const subjectIs = (b: K8sObject, sa: string) => list(b.subjects).some((s) => rec(s).kind === 'ServiceAccount' && rec(s).name === sa && (rec(s).namespace ?? b.metadata.namespace) === NS);
    function rulesOf(sa: string): { cluster: Rule[]; namespaced: Rule[] } {
      const roleRules = (kind: string, name: string) => (one(kind, name).rules ?? []) as Rule[];
      const cluster = of('ClusterRoleBinding').filter((b) => subjectIs(b, sa)).flatMap((b) => roleRules('ClusterRole', String(rec(b.roleRef).name)));
      const namespaced = of('RoleBinding').filter((b) => subjectIs(b, sa)).flatMap((b) => {
        expect(rec(b.roleRef).kind, `${b.metadata.name} binds a Role, not a ClusterRole`).to.equal('Role');
        return roleRules('Role', String(rec(b.roleRef).name));
      });
      return { cluster, namespaced };
    }

    it('grants no wildcard, no secrets, no escalation verbs', () => {
      for (const r of [...of('ClusterRole'), ...of('Role')].flatMap((x) => (x.rules ?? []) as Rule[])) {
        for (const f of [r.apiGroups, r.resources, r.verbs]) expect(f).to.not.include('*');
        expect(r.resources).to.not.include('secrets');
        for (const v of ['escalate', 'bind', 'impersonate']) expect(r.verbs).to.not.include(v);
      }
    });

    it('lets the DNS server list and watch ConfigMaps in its own namespace only, through a Role', () => {
      const { cluster, namespaced } = rulesOf('splitdns-dns');
      expect(cluster, 'no ClusterRole for the DNS server').to.deep.equal([]);
      expect([...grants(namespaced)].sort()).to.deep.equal(['core/configmaps:list', 'core/configmaps:watch']);
      const d = dns();
      expect(d.spec.template.spec.serviceAccountName).to.equal('splitdns-dns');
    });

    it('binds the operator\'s service account, and only the operator\'s, to the operator roles', () => {
      expect(operator().spec.template.spec.serviceAccountName).to.equal('splitdns-operator');
      const { cluster, namespaced } = rulesOf('splitdns-operator');
      expect(cluster.length + namespaced.length).to.be.greaterThan(0);
    });
  });

  describe('config/prometheus', () => {
    let extras: K8sObject[];
    before(function () {
      this.timeout(60000);
      extras = renderKustomization(join(ROOT, 'config', 'prometheus'));
    });

    it('renders a ServiceMonitor that selects both metrics Services by label and port name', () => {
      const sm = extras.find((o) => o.kind === 'ServiceMonitor')!;
      expect(sm, 'ServiceMonitor').to.not.equal(undefined);
      const spec = rec(sm.spec);
      expect(list(rec(spec.namespaceSelector).matchNames)).to.deep.equal([NS]);
      const sel = rec(rec(spec.selector).matchLabels);
      const selected = of('Service').filter((s) => Object.entries(sel).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(selected.map((s) => s.metadata.name).sort()).to.deep.equal(['splitdns-dns-ops', 'splitdns-operator-metrics']);
      for (const ep of list(spec.endpoints).map(rec)) {
        expect(ep.path).to.equal('/metrics');
        for (const s of selected) expect(list(rec(s.spec).ports).map(rec).map((p) => p.name), s.metadata.name).to.include(ep.port);
      }
    });

    it('renders the PrometheusRule and the dashboard ConfigMap for the Grafana sidecar', () => {
      const rule = extras.find((o) => o.kind === 'PrometheusRule')!;
      const alerts = list(rec(rule.spec).groups).flatMap((g) => list(rec(g).rules)).map((r) => String(rec(r).alert));
      for (const a of ['SplitdnsServfailRateHigh', 'SplitdnsUpstreamDown', 'SplitdnsConfigReloadFailed', 'SplitdnsResourcesNotProgrammed', 'SplitdnsOperatorNoLeader', 'SplitdnsOperatorBacklog']) expect(alerts).to.include(a);
      const cm = extras.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')!;
      expect(cm, 'dashboard ConfigMap').to.not.equal(undefined);
      const json = JSON.parse(String(rec(cm.data)['splitdns.json'])) as { uid: string; panels: unknown[] };
      expect(json.uid).to.equal('splitdns');
      expect(json.panels.length).to.be.at.least(8);
      for (const o of extras) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).to.equal(NS);
    });
  });
});
