// Nodes dying, three ways:
// - the whole node vanishes (cut off, then killed: no FIN reaches anyone): the others withdraw its
//   routes when their hold timer expires (a NOTIFICATION ends graceful restart, as in BIRD);
// - bgpd killed with SIGKILL (the kernel closes its TCP sessions) and back within its
//   graceful-restart time: its routes stay in every other kernel, untouched, and are refreshed;
// - bgpd killed with SIGKILL and never back: kept (stale) for its restart time, then flushed.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { requireLab } from '../lab/lib/index.js';
import { buildCluster, waitConverged, birdRoutes, expectedBirdRoutes } from '../lab/cluster.js';
import { waitFor } from '../lab/lib/wait.js';

const HOLD = 6;
const RESTART = 15;

if (await requireLab(t, ['bird2'])) {
  t.test('a dying node: hold-time withdrawal, graceful restart, restart-time flush', async (t) => {
    const c = await buildCluster({ nodes: 3, holdSec: HOLD, restartTimeSec: RESTART });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);
    const [, n7, n8] = c.nodes;
    const route8 = `${n8!.block} via ${n8!.address} dev tunl0 proto bird onlink`;
    const survivors = c.nodes.slice(0, 2);

    t.test('node vanishes: withdrawn after the hold time', async (t) => {
      await n8!.host.ip(['link', 'set', 'eth0', 'down']);
      const t0 = Date.now();
      await n8!.wren!.kill();
      for (const n of survivors) t.ok((await birdRoutes(n)).includes(route8), `${n.address} still routes to .8 right after`);
      for (const n of survivors) {
        await waitFor(async () => !(await birdRoutes(n)).includes(route8) || undefined, { timeoutMs: (HOLD + 10) * 1000, intervalMs: 100, what: `route to .8 withdrawn on ${n.address}` });
      }
      const s = (Date.now() - t0) / 1000;
      t.ok(s >= HOLD - 2.5 && s < RESTART, `withdrawn after ${s.toFixed(1)} s: the hold time (${HOLD} s), not the restart time`);
      const st = (await n7!.wren!.neighbors()).find((x) => x.address === n8!.address)!;
      t.match(st.lastError, /Hold timer expired/, `.7 says why: ${st.lastError}`);
      await n8!.host.ip(['link', 'set', 'eth0', 'up']);
      await n8!.host.setDefaultRoute('10.160.105.1', 'eth0');
      await n8!.wren!.start();
      await waitConverged(c, 60_000);
    });

    t.test('SIGKILL and back within the restart time: kept, no kernel event', async (t) => {
      const mon = survivors.map((n) => n.host.spawn('ip', ['-4', 'monitor', 'route'], { name: 'monitor-gr' }));
      await new Promise((r) => setTimeout(r, 300));
      await n8!.wren!.kill();
      await new Promise((r) => setTimeout(r, 1000));
      for (const n of survivors) {
        const st = (await n.wren!.neighbors()).find((x) => x.address === n8!.address)!;
        t.not(st.state, 'Established', `${n.address} saw the TCP session close`);
        t.ok((await birdRoutes(n)).includes(route8), `${n.address} keeps .8's route meanwhile (stale)`);
      }
      await n8!.wren!.start();
      await waitConverged(c, 60_000);
      await new Promise((r) => setTimeout(r, 1000));
      for (const n of c.nodes) t.same(await birdRoutes(n), expectedBirdRoutes(c, n), `${n.address} converged`);
      for (const [i, m] of mon.entries()) {
        const events = readFileSync(m.stdoutPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
        t.same(events, [], `${survivors[i]!.address}: zero route events`);
        await m.stop(1000);
      }
    });

    t.test('SIGKILL and never back: flushed when the restart time runs out', async (t) => {
      const t0 = Date.now();
      await n8!.wren!.kill();
      await new Promise((r) => setTimeout(r, (HOLD + 2) * 1000));
      for (const n of survivors) t.ok((await birdRoutes(n)).includes(route8), `${n.address} still keeps the stale route after the hold time`);
      for (const n of survivors) {
        await waitFor(async () => !(await birdRoutes(n)).includes(route8) || undefined, { timeoutMs: (RESTART + 10) * 1000, intervalMs: 200, what: `stale route flushed on ${n.address}` });
      }
      const s = (Date.now() - t0) / 1000;
      t.ok(s >= RESTART - 2, `flushed after ${s.toFixed(1)} s (restart time ${RESTART} s)`);
    });
  });
}
