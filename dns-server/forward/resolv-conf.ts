// The nameservers of a resolv.conf (resolv.conf(5)): `nameserver ADDR` lines, IPv4 or IPv6
// literals, in file order. Everything else (search, options, domain, comments) is ignored, as
// CoreDNS's `forward . /etc/resolv.conf` does. An IPv6 address with a zone (`fe80::1%eth0`) is
// left out: the forwarder's upstream addresses carry no scope.

import { isIP } from 'node:net';

export interface ResolvConfNameservers {
  nameservers: string[];
  /** Lines skipped, with why ("line 4: not an IP address: ns1.example"). */
  skipped: string[];
}

export function parseResolvConf(text: string): ResolvConfNameservers {
  const nameservers: string[] = [];
  const skipped: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (m === null) continue;
    const addr = m[1];
    if (addr.includes('%')) { skipped.push(`line ${i + 1}: scoped IPv6 address not supported: ${addr}`); continue; }
    if (isIP(addr) === 0) { skipped.push(`line ${i + 1}: not an IP address: ${addr}`); continue; }
    if (!nameservers.includes(addr)) nameservers.push(addr);
  }
  return { nameservers, skipped };
}
