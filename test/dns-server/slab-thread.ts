// A worker thread for slab-sharing.test.ts: wraps the shard slab it is sent, as a --workers
// thread does (tables/build.ts tableFromSlab), and reports what its table reads.
import { parentPort } from 'node:worker_threads';
import { tableFromSlab } from '../../dns-server/tables/build.js';
import type { NameTable } from '../../dns-server/tables/table.js';
import { nameToKey } from '../../dns-server/wire/name.js';

let table: NameTable | undefined;
parentPort!.on('message', (m: { slab?: SharedArrayBuffer; name: string }) => {
  if (m.slab !== undefined) table = tableFromSlab(m.slab, 'now') as NameTable;
  const sab = table!.slab.sab;
  parentPort!.postMessage({ shared: sab instanceof SharedArrayBuffer, byteLength: sab.byteLength, node: table!.names.get(nameToKey(m.name)) });
});
