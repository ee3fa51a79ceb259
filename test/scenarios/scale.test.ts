// A 20-node full mesh (190 sessions) converges: every node holds a blackhole for its block and a
// tunl0 route to each of the 19 others.
import t from 'tap';
import { requireLab } from '../lab/lib/index.js';
import { buildCluster, waitConverged, birdRoutes, expectedBirdRoutes } from '../lab/cluster.js';

const NODES = Number(process.env['WREN_SCALE_NODES'] ?? 20);

if (await requireLab(t, ['bird2'])) {
  t.test(`${NODES}-node mesh converges`, async (t) => {
    const t0 = Date.now();
    const c = await buildCluster({ nodes: NODES, logLevel: 'warn' });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 180_000);
    t.comment(`built and converged in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const n of c.nodes) {
      const got = await birdRoutes(n);
      t.equal(got.length, NODES, `${n.address}: ${NODES} proto bird routes`);
      t.same(got, expectedBirdRoutes(c, n), `${n.address}: exactly the expected lines`);
      const ns = await n.wren!.neighbors();
      t.equal(ns.filter((x) => x.state === 'Established').length, NODES - 1, `${n.address}: ${NODES - 1} sessions up`);
    }
  });
}
