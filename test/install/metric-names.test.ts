// Every metric the PrometheusRule and the Grafana dashboard query must be one the code really
// registers, or an alert silently watches nothing. The registries are the real ones: a DNS
// server started on loopback port 0 with the forwarder, and the operator's metrics.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startDnsServer } from '../../dns-server/index.js';
import type { DnsServer } from '../../dns-server/index.js';
import { createForwarder } from '../../dns-server/forward/index.js';
import type { Fallback } from '../../dns-server/fallback.js';
import { OperatorMetrics } from '../../operator/controller/metrics.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Metric names in a PromQL expression (ours all start with splitdns_). */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\bsplitdns_[a-z0-9_]+/g) ?? [])];
}

function ruleExpressions(): { where: string; expr: string }[] {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'config/prometheus/prometheusrule.yaml'), 'utf8')).map((d) => d.toJS() as { spec: { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] } });
  return docs.flatMap((d) => d.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }))));
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dash = parse(readFileSync(join(ROOT, 'config/prometheus/grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { name: string; query?: unknown; definition?: string }[] };
  };
  const out = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
  for (const v of dash.templating.list) if (v.definition) out.push({ where: `variable ${v.name}`, expr: v.definition });
  return out;
}

/** Names a registry exposes, with the series suffixes of histograms and summaries. */
async function exposedNames(reg: Registry): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of await reg.getMetricsAsJSON()) {
    out.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) out.add(m.name + s);
  }
  return out;
}

describe('install: metric names in alerts and dashboard', () => {
  const logger = pino({ level: 'silent' });
  const dnsRegistry = new Registry();
  let server: DnsServer | undefined;
  let fallback: Fallback | undefined;
  const registered = new Set<string>();

  before(async () => {
    fallback = createForwarder({ logger, registry: dnsRegistry });
    server = await startDnsServer({ address: '127.0.0.1', port: 0, httpPort: null, logger, registry: dnsRegistry, fallback });
    for (const n of await exposedNames(dnsRegistry)) registered.add(n);
    for (const n of await exposedNames(await operatorRegistry())) registered.add(n);
  });

  after(async () => {
    await server?.close();
    await fallback?.close();
  });

  it('finds expressions to check in the rules and the dashboard', () => {
    expect(ruleExpressions().length).to.be.at.least(5);
    expect(dashboardExpressions().length).to.be.at.least(8);
  });

  it('extracts metric names from PromQL', () => {
    expect(metricNamesIn('sum(rate(splitdns_a_total{x="y"}[5m])) / on() splitdns_b_seconds_bucket')).to.deep.equal(['splitdns_a_total', 'splitdns_b_seconds_bucket']);
  });

  for (const [label, exprs] of [['PrometheusRule', ruleExpressions], ['Grafana dashboard', dashboardExpressions]] as const) {
    it(`uses in the ${label} only metrics the DNS server, forwarder and operator register`, () => {
      const missing: string[] = [];
      for (const { where, expr } of exprs()) {
        const names = metricNamesIn(expr);
        expect(names.length, `${where} queries no splitdns metric: ${expr}`).to.be.greaterThan(0);
        for (const n of names) if (!registered.has(n)) missing.push(`${where}: ${n}`);
      }
      expect(missing, `not registered by the code (registered: ${[...registered].sort().join(', ')})`).to.deep.equal([]);
    });
  }
});

/** The operator's own registry, filled by the operator's metrics class. */
async function operatorRegistry(): Promise<Registry> {
  const reg = new Registry();
  new OperatorMetrics(reg);
  return reg;
}
