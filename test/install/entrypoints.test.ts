// The flags config/ passes to the operator and the DNS server are flags those programs really
// accept, with values they accept, and the ports the probes, Services and the operator's
// /status reader use are the ports the programs listen on.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseOptions } from '../../operator/controller/options.js';
import { renderKustomization } from './render.js';
import type { K8sObject } from './render.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Container { name: string; command?: string[]; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; ports?: { name?: string; containerPort: number }[]; readinessProbe?: { httpGet?: { port: string | number } } }
interface Deployment extends K8sObject { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } } } }

/** $(VAR) expanded as the kubelet does, with example values for fieldRef variables. */
function expand(args: string[], c: Container): string[] {
  const env = new Map((c.env ?? []).map((e) => [e.name, e.value ?? (e.name === 'POD_NAMESPACE' ? 'splitdns' : `example-${e.name.toLowerCase().replace(/_/g, '-')}`)]));
  return args.map((a) => a.replace(/\$\((\w+)\)/g, (m, k: string) => env.get(k) ?? m));
}

const flagNames = (args: string[]) => args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]!);
const flagValue = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** The --help text of a program of this repository, run from its TypeScript source. */
function helpOf(sourceFile: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, sourceFile), '--help'], { encoding: 'utf8', cwd: ROOT, timeout: 30000 });
}

describe('install: entrypoints and flags in config/', () => {
  let deployments: Deployment[];
  const get = (name: string) => deployments.find((d) => d.metadata.name === name)!;

  before(function () {
    this.timeout(60000);
    deployments = renderKustomization(join(ROOT, 'config')).filter((o) => o.kind === 'Deployment') as Deployment[];
  });

  it('gives the operator flags and values its option parser accepts, and probes its HTTP port', () => {
    const c = get('splitdns-operator').spec.template.spec.containers[0]!;
    const args = expand(c.args ?? [], c);
    expect(args[0]).to.equal('operator');
    const o = parseOptions(args.slice(1), {});
    expect(o.namespace).to.equal('splitdns');
    const http = c.ports?.find((p) => p.name === 'http');
    expect(o.httpPort).to.equal(http?.containerPort);
    expect(c.readinessProbe?.httpGet?.port).to.equal('http');
  });

  it('lets the operator find the DNS server pods and their /status port', () => {
    const c = get('splitdns-operator').spec.template.spec.containers[0]!;
    const o = parseOptions(expand(c.args ?? [], c).slice(1), {});
    const dns = get('splitdns-dns');
    for (const term of o.dnsSelector.split(',')) {
      const [k, v] = term.split('=').map((s) => s.trim());
      expect(dns.spec.template.metadata.labels[k!], `DNS pods carry ${term}`).to.equal(v);
    }
    const dc = dns.spec.template.spec.containers[0]!;
    const statusPort = o.statusPort ?? dc.ports?.find((p) => p.name === o.statusPortName)?.containerPort;
    expect(statusPort, `DNS container port named ${o.statusPortName}`).to.equal(Number(flagValue(expand(dc.args ?? [], dc), 'http-port')));
  });

  it('gives the DNS server only flags its --help lists', function () {
    this.timeout(60000);
    const c = get('splitdns-dns').spec.template.spec.containers[0]!;
    const entry = /^\/app\/dist\/(.+)\.js$/.exec(c.command?.[1] ?? '')?.[1];
    expect(entry, 'the DNS container runs a file of dist/').to.be.a('string');
    const help = helpOf(`${entry}.ts`);
    const known = new Set((help.match(/--[a-z][a-z0-9-]*/g) ?? []).map((f) => f.slice(2)));
    for (const f of flagNames(expand(c.args ?? [], c))) expect(known.has(f), `--${f} in ${entry} --help`).to.equal(true);
  });
});
