// The DNS server's command line: the flags for the default upstream and CoreDNS metric names
// are listed in --help, and a bad --metrics-compat is refused with a clear message (exit 2).

import { expect } from 'chai';
import { run } from '../../dns-server/main.js';

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => { out += c.toString(); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => { err += c.toString(); return true; }) as typeof process.stderr.write;
  try { return { code: await run(argv), out, err }; } finally { process.stdout.write = o; process.stderr.write = e; }
}

describe('dns-server command line', () => {
  it('lists --no-default-upstream, --resolv-conf and --metrics-compat in --help', async () => {
    const r = await capture(['--help']);
    expect(r.code).to.equal(0);
    for (const f of ['--no-default-upstream', '--resolv-conf FILE', '--metrics-compat coredns']) expect(r.out).to.include(f);
  });

  it('refuses an unknown --metrics-compat', async () => {
    const r = await capture(['--config', '/nonexistent.json', '--metrics-compat', 'bind']);
    expect(r.code).to.equal(2);
    expect(r.err).to.equal('--metrics-compat must be one of coredns, not "bind"\n');
  });
});
