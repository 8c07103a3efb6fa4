// The abuse bench (npm run bench -- abuse): hostile clients against the server, figures
// printed, never a pass/fail. Usage: node run.js [nonreaders|slowloris|burst|reload ...]
import { nonReaders, reloadUnderLoad, slowLoris, startChildServer, udpBurst } from './attacks.js';

const MB = (b: number) => (b / 1048576).toFixed(1) + ' MiB';
const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['nonreaders', 'slowloris', 'burst', 'reload'];

for (const p of parts) {
  switch (p) {
    case 'nonreaders': {
      const srv = await startChildServer({ tcp: { idleTimeoutMs: 60000 } });
      const f = await nonReaders(srv);
      await srv.stop();
      console.log(`nonreaders: ${f.clients} TCP clients × ${f.queriesEach} pipelined 31 KB TXT queries, never reading`);
      const pct = (x: number) => `${x >= f.rssBefore ? '+' : ''}${((x / f.rssBefore - 1) * 100).toFixed(1)}%`;
      console.log(`  server RSS before ${MB(f.rssBefore)}, peak ${MB(f.rssPeak)} (+${MB(f.rssPeak - f.rssBefore)})`);
      console.log(`  after they left: ${MB(f.rssAfterNoGc)} (${pct(f.rssAfterNoGc)}) before V8's next GC, ${MB(f.rssAfter)} (${pct(f.rssAfter)}) after a settled full GC (as before the attack)`);
      console.log(`  queries the server took before back-pressure stopped it: ${f.servedQueries}`);
      break;
    }
    case 'slowloris': {
      const srv = await startChildServer();
      const f = await slowLoris(srv);
      await srv.stop();
      console.log(`slowloris: ${f.attackers} connections trickling one byte per 500 ms (${f.attackersOpen} open at once), server defaults`);
      console.log(`  fresh client: ${f.freshAnswered}/${f.freshAsked} TCP queries answered, ms: ${f.freshMs.map((x) => x.toFixed(1)).join(' ')}`);
      console.log(`  closed by the server: ${JSON.stringify(f.closedByServer)}`);
      break;
    }
    case 'slowloris-json': { // for test/dns-server/abuse.test.ts: a frame deadline past the attack, so only eviction lets the fresh client in
      const srv = await startChildServer({ tcp: { frameTimeoutMs: 120000, idleTimeoutMs: 120000 } });
      const f = await slowLoris(srv);
      await srv.stop();
      console.log(JSON.stringify(f));
      break;
    }
    case 'burst': {
      const srv = await startChildServer();
      const f = await udpBurst(srv.port, 2000);
      await srv.stop();
      console.log(`burst: ${f.sent} UDP queries sent at once: ${f.answered} answered, ${f.lost} lost`);
      break;
    }
    case 'reload': {
      const f = await reloadUnderLoad(20);
      console.log(`reload: ${f.reloads} forwarder reloads under ${f.queries} queries: ${f.answered} answered, ${f.servfail} SERVFAIL, ${f.lost} lost`);
      break;
    }
    default: console.log(`abuse: unknown part ${p}`);
  }
}
