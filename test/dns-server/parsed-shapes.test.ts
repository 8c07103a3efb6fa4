// config/parsed-shapes.ts: the maps of parsed shards outlive the shards, so that a full
// collection between two changes does not throw away the code optimised for them (ADR 0028).
// Seen in a child process with V8's natives syntax: a function reading a parsed RRset, optimised,
// is still optimised after the parsed shard is gone and three full collections ran (V8 keeps an
// unused map through two) only when keepShapes held the shard's shapes.
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { keepShapes } from '../../dns-server/config/parsed-shapes.js';

const shapes = new URL('../../dns-server/config/parsed-shapes.ts', import.meta.url).href;

/** Whether `read` (an RRset's ttl and data) is still optimised after the shard it was optimised on is gone and collected. */
function optimisedAfterCollections(keep: boolean): boolean {
  const probe = `import { keepShapes } from ${JSON.stringify(shapes)};
    // (keys no other test object has, so no other object keeps these maps alive)
    const text = '{"apiVersion":"x","id":"services/p","kind":"probe","reverse":[],"rrsets":[{"data":["10.0.0.1"],"name":"a.p.","probeTtl":30,"type":"A"},{"data":[{"port":1,"priority":0,"probeTarget":"a.p.","weight":1}],"name":"_x._tcp.p.","probeTtl":30,"type":"SRV"}],"hash":"h"}';
    function read(rs) { return rs.probeTtl + rs.data.length + (rs.data[0].probeTarget === undefined ? 0 : 1); }
    let shard = JSON.parse(text);
    %PrepareFunctionForOptimization(read);
    for (let i = 0; i < 4; i++) read(shard.rrsets[i & 1]);
    %OptimizeFunctionOnNextCall(read);
    read(shard.rrsets[0]);
    const before = (%GetOptimizationStatus(read) & 16) !== 0; // 16: optimised (V8's OptimizationStatus)
    if (${keep}) keepShapes(shard);
    shard = undefined;
    for (let i = 0; i < 3; i++) gc();
    console.log(JSON.stringify({ before, after: (%GetOptimizationStatus(read) & 16) !== 0 }));`;
  const r = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' })) as { before: boolean; after: boolean };
  expect(r.before, 'the probe function was optimised').to.equal(true);
  return r.after;
}

describe('parsed shards\' maps (config/parsed-shapes.ts)', () => {
  it('keeps code optimised for a parsed shard\'s RRsets and data items through full collections', () => {
    expect(optimisedAfterCollections(true)).to.equal(true);
  });

  it('(without keepShapes the collections throw that code away: what the keeper is for)', () => {
    expect(optimisedAfterCollections(false)).to.equal(false);
  });

  it('holds a skeleton only: each list cut to its first item and the first RRset of each type', () => {
    // (no public view of what it holds: it must not throw on any shard-like value, large or small)
    const rrsets = Array.from({ length: 1000 }, (_, i) => ({ data: [`10.0.${i >> 8}.${i & 255}`], name: `h${i}.p.`, ttl: 30, type: i % 3 ? 'A' : 'AAAA' }));
    expect(() => keepShapes({ kind: 'services', rrsets, reverse: [], nested: { deep: [[1, 2], null, 'x'] } } as { kind: string })).not.to.throw();
  });
});
