// A worker thread for answer-arena.test.ts: wraps the shard slab it is sent in a table of its
// own, as a --workers thread does (tables/build.ts tableFromSlab), and answers the names it is
// asked (A), each `times` times in a row, sending back the messages (bytes) in order.
import { parentPort } from 'node:worker_threads';
import { tableFromSlab } from '../../dns-server/tables/build.js';
import type { NameTable } from '../../dns-server/tables/table.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';

let table: NameTable | undefined;
parentPort!.on('message', (m: { slab?: SharedArrayBuffer; names: string[]; times: number }) => {
  if (m.slab !== undefined) table = tableFromSlab(m.slab, 'now') as NameTable;
  const out: string[] = [];
  for (const name of m.names) for (let i = 0; i < m.times; i++) out.push(table!.answerFor(nameToKey(name), TYPE.A)?.toString('hex') ?? '');
  parentPort!.postMessage(out);
});
