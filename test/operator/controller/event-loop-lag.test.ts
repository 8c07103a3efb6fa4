// The operator exports its event-loop lag (issue 16): a loop blocked for 300 ms shows in the
// gauge's max and p99; an idle window shows near nothing.

import { expect } from 'chai';
import { Registry } from 'prom-client';
import { OperatorMetrics } from '../../../operator/controller/metrics.js';

describe('operator controller: event-loop lag metric', () => {
  it('splitdns_operator_event_loop_lag_seconds shows a 300 ms block, and the next idle window does not', async () => {
    const reg = new Registry();
    const m = new OperatorMetrics(reg);
    try {
      m.sampleEventLoop(); // start a clean window
      await new Promise((r) => setTimeout(r, 50));
      const until = performance.now() + 300;
      while (performance.now() < until) { /* block the loop */ }
      await new Promise((r) => setTimeout(r, 50));
      const busy = m.sampleEventLoop();
      expect(busy.max).to.be.at.least(0.25);
      const text = await reg.metrics();
      expect(text).to.match(/splitdns_operator_event_loop_lag_seconds\{quantile="1"\} 0\.[2-9]/);
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 20));
      expect(m.sampleEventLoop().max, 'an idle window').to.be.below(0.25);
    } finally { m.close(); }
  });
});
