// Every kind of edit of the served manifests is applied: `sed -i`, `cp` over, in-place
// writes (vim backupcopy=yes, VS Code), atomic rename, new and removed files, subfolders. Each
// kind 20 times in a row, each checked with real DNS queries over loopback until the new answer
// comes (a deadline, no fixed sleeps). The periodic rescan is off here (rescanMs: 0), so file
// events alone must carry every edit; a second suite runs with polling only. The time from the
// edit to the new answer is measured and printed (a figure, not an assertion: see bench/).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';
import { zoneManifest } from '../cli/manifests.js';

const ROUNDS = 20;
const DEADLINE_MS = 10000; // generous on a loaded 2-core machine; the figure printed is what counts

const hostManifest = (name: string, ip: string) => `apiVersion: splitdns.io/v1alpha1
kind: StaticHost
metadata: {name: ${name.split('.')[0]}, namespace: splitdns}
spec: {hostnames: [${name}], addresses: [${ip}]}
`;

async function answer(r: Resolver, name: string): Promise<string> {
  try { return (await r.resolve4(name)).sort().join(','); } catch (err) { return (err as { code?: string }).code ?? String(err); }
}

/** Queries until `want` is answered or the deadline passes; returns ms taken, or -1. */
async function waitFor(r: Resolver, name: string, want: (a: string) => boolean): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < DEADLINE_MS) {
    if (want(await answer(r, name))) return performance.now() - t0;
    await new Promise((res) => setTimeout(res, 10));
  }
  return -1;
}

function summary(kind: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `${kind}: ${s.length} edits, median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
}

type Edit = { kind: string; name: (i: number) => string; apply: (dir: string, i: number) => void; want: (i: number) => (a: string) => boolean };

const ip = (i: number) => `192.0.2.${(i % 250) + 1}`;
const isIp = (i: number) => (a: string) => a === ip(i);
const EDITS: Edit[] = [
  { kind: 'sed -i', name: () => 'www.example.org', want: isIp, apply: (d, i) => execFileSync('sed', ['-i', `s/a: \\[.*\\]/a: [${ip(i)}]/`, join(d, 'zone.yaml')]) },
  { kind: 'cp over', name: () => 'www.example.org', want: isIp, apply: (d, i) => { writeFileSync(join(d, '..', 'staged.yaml'), zoneManifest(ip(i))); execFileSync('cp', [join(d, '..', 'staged.yaml'), join(d, 'zone.yaml')]); } },
  { kind: 'in-place write', name: () => 'www.example.org', want: isIp, apply: (d, i) => writeFileSync(join(d, 'zone.yaml'), zoneManifest(ip(i))) },
  { kind: 'atomic rename', name: () => 'www.example.org', want: isIp, apply: (d, i) => { writeFileSync(join(d, '.zone.yaml.tmp'), zoneManifest(ip(i))); renameSync(join(d, '.zone.yaml.tmp'), join(d, 'zone.yaml')); } },
  { kind: 'new file', name: (i) => `n${i}.example.net`, want: () => (a) => a === '10.0.0.9', apply: (d, i) => writeFileSync(join(d, `host-${i}.yaml`), hostManifest(`n${i}.example.net`, '10.0.0.9')) },
  { kind: 'removed file', name: (i) => `n${i}.example.net`, want: () => (a) => a !== '10.0.0.9', apply: (d, i) => unlinkSync(join(d, `host-${i}.yaml`)) },
  { kind: 'new subfolder file', name: (i) => `s${i}.example.net`, want: () => (a) => a === '10.0.0.8', apply: (d, i) => { mkdirSync(join(d, `sub${i}`, 'deeper'), { recursive: true }); writeFileSync(join(d, `sub${i}`, 'deeper', 'h.yaml'), hostManifest(`s${i}.example.net`, '10.0.0.8')); } },
  { kind: 'sed -i in a subfolder', name: () => 's0.example.net', want: (i) => (a) => a === `10.0.1.${i + 1}`, apply: (d, i) => execFileSync('sed', ['-i', `s/addresses: \\[.*\\]/addresses: [10.0.1.${i + 1}]/`, join(d, 'sub0', 'deeper', 'h.yaml')]) },
];

function suite(title: string, opts: { poll: boolean; rescanMs: number }, rounds: number) {
  describe(title, function () {
    this.timeout(DEADLINE_MS * rounds * 2);
    let root: string;
    let dir: string;
    let local: LocalServer;
    let resolver: Resolver;
    const figures: string[] = [];

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'splitdns-watch-'));
      dir = join(root, 'manifests');
      mkdirSync(dir);
      writeFileSync(join(dir, 'zone.yaml'), zoneManifest('192.0.2.250'));
      local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }), forward: false, debounceMs: 50, ...opts });
      await local.watching;
      resolver = new Resolver({ timeout: 500, tries: 2 });
      resolver.setServers([`127.0.0.1:${local.dns.port}`]);
    });
    after(async () => {
      await local?.close();
      rmSync(root, { recursive: true, force: true });
      for (const f of figures) console.log(`      ${f}`);
    });

    for (const e of EDITS) {
      it(`applies ${rounds} ${e.kind} edits in a row`, async () => {
        const took: number[] = [];
        for (let i = 0; i < rounds; i++) {
          e.apply(dir, i);
          const ms = await waitFor(resolver, e.name(i), e.want(i));
          expect(ms, `${e.kind} #${i + 1}: ${e.name(i)} did not get the new answer within ${DEADLINE_MS} ms (got ${await answer(resolver, e.name(i))})`).to.be.at.least(0);
          took.push(ms);
        }
        figures.push(summary(e.kind, took));
      });
    }
  });
}

suite('local mode: every edit is applied (file events only)', { poll: false, rescanMs: 0 }, ROUNDS);
suite('local mode: every edit is applied (polling only)', { poll: true, rescanMs: 0 }, 5);
