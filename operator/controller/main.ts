// `splitdns operator`: the CLI (operator/cli/main.ts) imports this module and calls run(argv).

import v8 from 'node:v8';
import { createLogger } from '../../dns-server/logging.js';
import { startOperator } from './controller.js';
import { KubeConfigMissingError, loadKubeConfig } from '../../kube/kube-client.js';
import { helpText, OptionsError, parseOptions } from './options.js';

export async function run(argv: string[]): Promise<number> {
  let o;
  try {
    o = parseOptions(argv, process.env);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`splitdns operator: ${err.message}\nRun "splitdns operator --help" for the flags.\n`);
    return 2;
  }
  if (o.help) { process.stdout.write(helpText()); return 0; }
  let kubeConfig;
  try { kubeConfig = loadKubeConfig(o.kubeApi); }
  catch (err) {
    // One line, no stack: what is missing and how to provide it.
    const why = err instanceof KubeConfigMissingError ? err.message : `cannot load the Kubernetes credentials: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`splitdns operator: ${why}\n`);
    return 1;
  }
  const logger = createLogger({ level: o.logLevel, format: o.logFormat });
  const op = await startOperator({
    kubeConfig, namespace: o.namespace, clusterDomain: o.clusterDomain, dnsSelector: o.dnsSelector, statusPort: o.statusPort,
    statusPortName: o.statusPortName, debounceMs: o.debounceMs, identity: o.identity, leaseName: o.leaseName,
    leaseDurationSeconds: o.leaseDurationSeconds, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs,
    httpAddress: o.httpAddress, httpPort: o.httpPort, logger, serviceCIDRs: o.serviceCIDRs, podCIDRs: o.podCIDRs,
    statusWrites: { qps: o.kubeApiQps, burst: o.kubeApiBurst, concurrency: o.statusConcurrency },
    publishIngress: o.publishIngress, publishGatewayAPI: o.publishGatewayAPI, externalDnsHostnameAnnotation: o.externalDnsHostnameAnnotation,
  });
  // The V8 heap's limit (old generation + young generation): without the Deployment's
  // NODE_OPTIONS, V8 sizes it from the container's memory limit (ADR 0019).
  const heapLimitMiB = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  logger.info({ namespace: o.namespace, clusterDomain: o.clusterDomain, dnsSelector: o.dnsSelector, httpPort: op.httpPort, heapLimitMiB }, 'operator started');
  await new Promise<void>((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  logger.info('stopping: releasing the lease');
  await op.close();
  return 0;
}
