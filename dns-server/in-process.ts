// The query path without sockets: a shard store and the real handler, for tools that ask "what
// would the server answer?" (`splitdns explain`). Forwarding is off: a name no shard holds is
// REFUSED here (the caller says which forwarder would take it).

import type { Logger } from 'pino';
import { Registry } from './prom.js';
import { handleQuery, PROTO_TCP } from './handler.js';
import type { HandlerState } from './handler.js';
import { ServerMetrics } from './metrics.js';
import { VALIDATOR } from './config/validate.js';
import { ShardStore } from './reload.js';
import type { ReloadReport } from './reload.js';
import { EMPTY_TABLES } from './tables/build.js';
import { shardOf } from './query-log.js';
import { nameToKey } from './wire/name.js';
import { replyBytes } from './wire/response.js';

export interface InProcessServer {
  applyBundle(bundle: unknown): ReloadReport;
  /** Answers one wire-format query as the server would over TCP (no truncation). */
  query(msg: Buffer): Promise<Buffer | null>;
  /** The shard that holds a name ("zone/corp.example.", "services/shop", "hosts", "none"). */
  shardOf(name: string): string;
}

export function createInProcessServer(logger: Logger): InProcessServer {
  const metrics = new ServerMetrics(new Registry());
  const state: HandlerState = { tables: EMPTY_TABLES, fallback: undefined, metrics, udpPayloadSize: 1232 };
  const store = new ShardStore(state, metrics, logger, VALIDATOR);
  return {
    applyBundle: (b) => store.applyBundle(b),
    query: async (msg) => {
      const r = await handleQuery(msg, PROTO_TCP, state);
      return r === null ? null : replyBytes(r);
    },
    shardOf: (name) => shardOf(state, nameToKey(name)),
  };
}
