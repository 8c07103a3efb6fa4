// The operator's flags, each with an environment equivalent; validated at start with a
// message that names the flag. Flags win over the environment, which wins over the default.

import { parseArgs } from 'node:util';
import { parseLogFormat } from '../../dns-server/logging.js';
import type { LogFormat } from '../../dns-server/logging.js';
import { DEFAULT_POD_CIDRS, DEFAULT_SERVICE_CIDRS, parseCidrList } from '../compile/reverse-zones.js';

export class OptionsError extends Error {}

interface FlagSpec { env: string; def?: string; help: string }

export const FLAG_SPECS: Record<string, FlagSpec> = {
  namespace: { env: 'SPLITDNS_NAMESPACE', def: 'splitdns', help: 'the operator\'s namespace: shard ConfigMaps, the Lease, the DNS server pods (also POD_NAMESPACE)' },
  'cluster-domain': { env: 'SPLITDNS_CLUSTER_DOMAIN', def: 'cluster.local', help: 'the cluster domain' },
  'service-cidr': { env: 'SPLITDNS_SERVICE_CIDR', def: DEFAULT_SERVICE_CIDRS.join(','), help: 'the cluster\'s Service CIDRs, comma-separated (IPv6 too): reverse zones served authoritatively, PTRs only for ClusterIPs' },
  'pod-cidr': { env: 'SPLITDNS_POD_CIDR', def: DEFAULT_POD_CIDRS.join(','), help: 'the cluster\'s Pod CIDRs, comma-separated (IPv6 too): reverse zones served authoritatively' },
  'dns-selector': { env: 'SPLITDNS_DNS_SELECTOR', def: 'app.kubernetes.io/name=splitdns-dns', help: 'label selector of the DNS server pods' },
  'dns-status-port-name': { env: 'SPLITDNS_DNS_STATUS_PORT_NAME', def: 'http', help: 'container port name of the DNS servers\' ops endpoint (/status)' },
  'dns-status-port': { env: 'SPLITDNS_DNS_STATUS_PORT', help: 'a fixed /status port instead of the named container port' },
  'debounce-ms': { env: 'SPLITDNS_DEBOUNCE_MS', def: '50', help: 'runs start at most this often: the first change after a quiet period compiles at once, a burst after it waits out the rest (0-60000)' },
  'pod-name': { env: 'POD_NAME', help: 'this replica\'s identity in the Lease (default hostname-pid)' },
  'lease-name': { env: 'SPLITDNS_LEASE_NAME', def: 'splitdns-operator', help: 'the leader-election Lease' },
  'lease-duration-seconds': { env: 'SPLITDNS_LEASE_DURATION_SECONDS', def: '15', help: 'a Lease not renewed this long may be taken (1-300)' },
  'renew-deadline-ms': { env: 'SPLITDNS_RENEW_DEADLINE_MS', def: '10000', help: 'a leader that cannot renew this long steps down (< lease duration)' },
  'retry-period-ms': { env: 'SPLITDNS_RETRY_PERIOD_MS', def: '2000', help: 'how often to renew or try to acquire the Lease (< renew deadline)' },
  'kube-api-qps': { env: 'SPLITDNS_KUBE_API_QPS', def: '200', help: 'status and Event writes a second, sustained (client-side limit, like client-go\'s QPS; 1-10000)' },
  'kube-api-burst': { env: 'SPLITDNS_KUBE_API_BURST', def: '300', help: 'status and Event writes allowed at once after a quiet spell (1-100000)' },
  'status-concurrency': { env: 'SPLITDNS_STATUS_CONCURRENCY', def: '16', help: 'status and Event writes in flight at once (1-256)' },
  'http-address': { env: 'SPLITDNS_HTTP_ADDRESS', def: '0.0.0.0', help: 'address of /healthz /readyz /metrics' },
  'http-port': { env: 'SPLITDNS_HTTP_PORT', def: '8081', help: 'port of /healthz /readyz /metrics (0 = off)' },
  'kube-api': { env: 'SPLITDNS_KUBE_API', help: 'API server URL without credentials (development and tests); default: in-cluster or KUBECONFIG' },
  'publish-ingress': { env: 'SPLITDNS_PUBLISH_INGRESS', def: 'false', help: 'watch Ingresses (networking.k8s.io/v1) and publish them where a DNSZone\'s spec.ingresses selects them (true/false; RBAC: the publish-routes component)' },
  'publish-gateway-api': { env: 'SPLITDNS_PUBLISH_GATEWAY_API', def: 'false', help: 'watch Gateways, HTTPRoutes, GRPCRoutes and TLSRoutes and publish routes where spec.routes selects them (true/false; kinds whose CRDs are not installed are skipped)' },
  'external-dns-annotation': { env: 'SPLITDNS_EXTERNAL_DNS_ANNOTATION', def: 'false', help: 'honour external-dns.alpha.kubernetes.io/hostname on Services as an alias of splitdns.io/hostname (true/false)' },
  'log-level': { env: 'SPLITDNS_LOG_LEVEL', def: 'info', help: 'pino level' },
  'log-format': { env: 'SPLITDNS_LOG_FORMAT', def: 'auto', help: 'auto (readable lines on a terminal, JSON otherwise), pretty or json' },
};

export interface ParsedOptions {
  namespace: string; clusterDomain: string; dnsSelector: string; statusPortName: string; statusPort?: number;
  debounceMs: number; identity?: string; leaseName: string; leaseDurationSeconds: number; renewDeadlineMs: number;
  retryPeriodMs: number; kubeApiQps: number; kubeApiBurst: number; statusConcurrency: number; httpAddress: string; httpPort: number | null; kubeApi?: string; logLevel: string; logFormat: LogFormat; help: boolean;
  serviceCIDRs: string[]; podCIDRs: string[];
  publishIngress: boolean; publishGatewayAPI: boolean; externalDnsHostnameAnnotation: boolean;
}

/** A comma-separated CIDR flag, checked (reverse-zones.ts). */
function cidrs(name: string, raw: string): string[] {
  const list = raw.split(',').map((x) => x.trim()).filter(Boolean);
  try { parseCidrList(list, `--${name}`); } catch (err) { throw new OptionsError((err as Error).message); }
  return list;
}

export function helpText(): string {
  const lines = Object.entries(FLAG_SPECS).map(([k, s]) => `  --${k.padEnd(24)} ${s.help}${s.def !== undefined ? ` (default ${s.def})` : ''} [env ${s.env}]`);
  return `splitdns operator: watch the cluster, publish the DNS configuration, report status.\n\nUsage: splitdns operator [flags]\n\n${lines.join('\n')}\n`;
}

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SEL_TERM = /^(!?[A-Za-z0-9._/-]+|[A-Za-z0-9._/-]+\s*(==|=|!=)\s*[A-Za-z0-9._-]*)$/;

function bool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new OptionsError(`--${name} must be true or false, not ${JSON.stringify(raw)}`);
}

function int(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new OptionsError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): ParsedOptions {
  const options = Object.fromEntries(Object.keys(FLAG_SPECS).map((k) => [k, { type: 'string' as const }]));
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) { throw new OptionsError((err as Error).message); }
  const get = (k: string): string | undefined => (values[k] as string | undefined) ?? env[FLAG_SPECS[k].env] ?? (k === 'namespace' ? env.POD_NAMESPACE : undefined) ?? FLAG_SPECS[k].def;
  const namespace = get('namespace')!;
  if (!LABEL.test(namespace)) throw new OptionsError(`--namespace must be a Kubernetes namespace name (DNS-1123 label), not ${JSON.stringify(namespace)}`);
  const clusterDomain = get('cluster-domain')!.replace(/\.$/, '').toLowerCase();
  if (!clusterDomain.split('.').every((l) => LABEL.test(l))) throw new OptionsError(`--cluster-domain must be a domain name such as cluster.local, not ${JSON.stringify(get('cluster-domain'))}`);
  const dnsSelector = get('dns-selector')!;
  if (!dnsSelector.trim() || !dnsSelector.split(',').every((t) => SEL_TERM.test(t.trim()))) throw new OptionsError(`--dns-selector must be an equality-based label selector such as app.kubernetes.io/name=splitdns-dns, not ${JSON.stringify(dnsSelector)}`);
  const statusPortName = get('dns-status-port-name')!;
  if (!/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(statusPortName)) throw new OptionsError(`--dns-status-port-name must be a container port name (IANA_SVC_NAME), not ${JSON.stringify(statusPortName)}`);
  const sp = get('dns-status-port');
  const leaseDurationSeconds = int('lease-duration-seconds', get('lease-duration-seconds')!, 1, 300);
  const renewDeadlineMs = int('renew-deadline-ms', get('renew-deadline-ms')!, 100, 300000);
  const retryPeriodMs = int('retry-period-ms', get('retry-period-ms')!, 50, 300000);
  if (renewDeadlineMs >= leaseDurationSeconds * 1000) throw new OptionsError(`--renew-deadline-ms (${renewDeadlineMs}) must be less than --lease-duration-seconds (${leaseDurationSeconds} s)`);
  if (retryPeriodMs >= renewDeadlineMs) throw new OptionsError(`--retry-period-ms (${retryPeriodMs}) must be less than --renew-deadline-ms (${renewDeadlineMs})`);
  const httpPort = int('http-port', get('http-port')!, 0, 65535);
  const kubeApi = get('kube-api');
  if (kubeApi !== undefined && !/^https?:\/\/[^/]+\/?$/.test(kubeApi)) throw new OptionsError(`--kube-api must be a URL such as https://10.0.0.1:6443, not ${JSON.stringify(kubeApi)}`);
  const logLevel = get('log-level')!;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new OptionsError(`--log-level must be one of fatal, error, warn, info, debug, trace, silent, not ${JSON.stringify(logLevel)}`);
  let logFormat: LogFormat;
  try { logFormat = parseLogFormat(get('log-format')); } catch (err) { throw new OptionsError((err as Error).message); }
  return {
    namespace, clusterDomain, dnsSelector, statusPortName, statusPort: sp === undefined ? undefined : int('dns-status-port', sp, 1, 65535),
    debounceMs: int('debounce-ms', get('debounce-ms')!, 0, 60000), identity: get('pod-name'), leaseName: get('lease-name')!,
    leaseDurationSeconds, renewDeadlineMs, retryPeriodMs,
    kubeApiQps: int('kube-api-qps', get('kube-api-qps')!, 1, 10000), kubeApiBurst: int('kube-api-burst', get('kube-api-burst')!, 1, 100000),
    statusConcurrency: int('status-concurrency', get('status-concurrency')!, 1, 256), httpAddress: get('http-address')!, httpPort: httpPort === 0 ? null : httpPort,
    kubeApi, logLevel, logFormat, help: values.help === true,
    serviceCIDRs: cidrs('service-cidr', get('service-cidr')!), podCIDRs: cidrs('pod-cidr', get('pod-cidr')!),
    publishIngress: bool('publish-ingress', get('publish-ingress')!), publishGatewayAPI: bool('publish-gateway-api', get('publish-gateway-api')!),
    externalDnsHostnameAnnotation: bool('external-dns-annotation', get('external-dns-annotation')!),
  };
}
