// A TCP proxy on 127.0.0.1 in front of the real apiserver, for the faults a real server does not
// make on demand: cut every open connection (a dropped watch), delay traffic (a slow API), refuse
// new connections (an unreachable API). TLS passes through untouched: clients verify the
// apiserver's certificate (issued for 127.0.0.1, so any port will do).

import net from 'node:net';

export class ApiProxy {
  /** Milliseconds each chunk waits before it is passed on, in both directions. */
  delayMs = 0;
  /** When true, new connections are closed as soon as they are accepted. */
  refuse = false;
  connections = 0;
  private readonly open = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly targetPort: number) {}

  static async start(targetPort: number): Promise<ApiProxy> {
    const server = net.createServer();
    const p = new ApiProxy(server, targetPort);
    server.on('connection', (c) => p.accept(c));
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
    return p;
  }

  get port(): number { return (this.server.address() as net.AddressInfo).port; }
  get url(): string { return `https://127.0.0.1:${this.port}`; }

  private accept(client: net.Socket): void {
    if (this.refuse) { client.destroy(); return; }
    this.connections++;
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.open.add(s);
      s.on('close', () => { this.open.delete(s); (s === client ? upstream : client).destroy(); });
      s.on('error', () => s.destroy());
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk) => {
      if (this.delayMs <= 0) { to.write(chunk); return; }
      from.pause();
      setTimeout(() => { if (!to.destroyed) to.write(chunk); from.resume(); }, this.delayMs);
    });
    from.on('end', () => to.end());
  }

  /** Ends every open connection at once (clients see their watches and requests cut). */
  cut(): number {
    const n = this.open.size;
    for (const s of this.open) s.destroy();
    return n;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
