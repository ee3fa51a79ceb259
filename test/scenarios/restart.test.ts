// Restarting wren on a node is invisible to the data plane: its kernel routes persist and are
// adopted, its peers keep its routes through graceful restart, and no node's kernel sees a single
// route event (the flap Calico users know from BIRD restarts, calico.md §5).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { requireLab } from '../lab/lib/index.js';
import { buildCluster, waitConverged, birdRoutes, expectedBirdRoutes } from '../lab/cluster.js';
import { waitFor } from '../lab/lib/wait.js';

if (await requireLab(t, ['bird2'])) {
  t.test('restarting wren on a node makes no kernel route flap on any node', async (t) => {
    const c = await buildCluster({ nodes: 3, holdSec: 9 });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);

    const monitors = c.nodes.map((n) => n.host.spawn('ip', ['-4', 'monitor', 'route'], { name: 'monitor' }));
    await new Promise((r) => setTimeout(r, 500));
    const n6 = c.nodes[0]!;
    await n6.wren!.stop();
    t.same(await birdRoutes(n6), expectedBirdRoutes(c, n6), 'routes stay in the kernel while bgpd is down (persist)');
    for (const n of c.nodes.slice(1)) {
      const st = (await n.wren!.neighbors()).find((x) => x.address === n6.address)!;
      t.not(st.state, 'Established', `${n.address} saw the session go down`);
      t.same(await birdRoutes(n), expectedBirdRoutes(c, n), `${n.address} keeps .6's block (graceful restart helper)`);
    }
    await n6.wren!.start();
    await waitConverged(c, 60_000);
    // Give the restarted node time to finish its deferral and prune (End-of-RIB from both peers).
    await waitFor(async () => (await n6.wren!.ctl<{ gracefulRestart: { state: string } }>(['show', 'status'])).gracefulRestart.state === 'none' || undefined, {
      timeoutMs: 30_000,
      what: 'graceful restart over on .6',
    });
    await new Promise((r) => setTimeout(r, 1000));
    for (const [i, m] of monitors.entries()) {
      const events = readFileSync(m.stdoutPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
      t.same(events, [], `${c.nodes[i]!.address}: zero route events in ip monitor route`);
    }
    for (const n of c.nodes) t.same(await birdRoutes(n), expectedBirdRoutes(c, n), `${n.address} converged again`);
    t.match(n6.wren!.logs(), /restarting":true|"restarting":true/, 'the restarted node knew it was restarting (routes found in the kernel)');
  });
}
