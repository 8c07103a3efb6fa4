// --workers N: N processes, each with its own UDP socket on the same port (SO_REUSEPORT, so
// the kernel spreads datagrams across them). Node's dgram has `reusePort` from 22.12 on; on
// older versions we say so and run one process. TCP and the ops endpoint are shared through
// node:cluster, as net servers are.

import cluster from 'node:cluster';
import type { Logger } from 'pino';

/** Whether this Node's dgram supports reusePort (22.12 and later). */
export function reusePortSupported(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

export type WorkerRole = { role: 'single' } | { role: 'worker'; index: number } | { role: 'primary' };

/**
 * Decides this process's role. In the primary with workers > 1, forks them, keeps them
 * running and passes SIGTERM on; the caller should not serve in that case.
 */
export function setupWorkers(workers: number, log: Logger): WorkerRole {
  if (workers <= 1) return { role: 'single' };
  if (!reusePortSupported()) {
    log.warn({ workers, node: process.versions.node }, `--workers ${workers} needs Node.js 22.12 or newer (dgram reusePort); running one process`);
    return { role: 'single' };
  }
  if (cluster.isWorker) return { role: 'worker', index: Number(process.env.SPLITDNS_WORKER ?? 0) };
  let stopping = false;
  const fork = (i: number) => {
    const w = cluster.fork({ SPLITDNS_WORKER: String(i) });
    w.on('exit', (code, signal) => {
      if (stopping) return;
      log.error({ worker: i, code, signal }, 'worker exited; starting it again');
      setTimeout(() => fork(i), 500);
    });
  };
  for (let i = 0; i < workers; i++) fork(i);
  const stop = (sig: NodeJS.Signals) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGUSR2 toggles query logging in each worker (unhandled, it would end the primary).
  process.on('SIGUSR2', () => { for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGUSR2'); });
  cluster.on('exit', () => { if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(0); });
  log.info({ workers }, 'started worker processes (reusePort)');
  return { role: 'primary' };
}
