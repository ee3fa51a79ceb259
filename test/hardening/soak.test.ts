// The soak (soak.ts) for one minute: 10 wren nodes, 100 route changes per second into node 0.
import t from 'tap';
import { requireLab } from '../lab/lib/index.js';
import { runSoak } from './soak.js';

if (await requireLab(t, [])) {
  t.test('soak: 10-node mesh, 100 changes/s for 1 minute', async (t) => {
    const r = await runSoak({ minutes: 1, rate: 100, nodes: 10, progress: (l) => t.comment(l) });
    t.comment(JSON.stringify(r));
    t.ok(r.allAlive, 'every wren alive');
    t.ok(r.feederUp, 'feeder session never reset');
    t.ok(r.achievedRate > 50, `churn rate ${r.achievedRate}/s (host shared, target 100)`);
    t.ok(r.converged, `every node converged on the feeder's ${r.finalPrefixes} prefixes`);
    for (const n of r.nodes) {
      t.equal(n.flaps, 0, `${n.node}: no mesh session flapped (keepalives/hold timers on time)`);
      t.equal(n.ctlFailures, 0, `${n.node}: control socket answered every sample (max ${n.ctlMaxMs} ms, p50 ${n.ctlP50Ms} ms)`);
      t.ok(n.rssEndMiB - n.rssStartMiB < 64, `${n.node}: RSS ${n.rssStartMiB} -> ${n.rssEndMiB} MiB (max ${n.rssMaxMiB})`);
    }
  });
}
