// The seed cluster as a Calico user sees it: three wren nodes in a full mesh produce exactly the
// kernel routes and the calicoctl status table of ../shared/reference/seed-cluster.md.
import t from 'tap';
import { requireLab } from '../lab/lib/index.js';
import { buildCluster, waitConverged, birdRoutes, expectedBirdRoutes } from '../lab/cluster.js';

// The three `proto bird` lines of the seed's `ip r` on 10.160.105.6, verbatim.
const SEED_LINES_N6 = [
  'blackhole 172.18.64.0/26 proto bird',
  '172.18.96.128/26 via 10.160.105.8 dev tunl0 proto bird onlink',
  '172.18.101.64/26 via 10.160.105.7 dev tunl0 proto bird onlink',
];

if (await requireLab(t, ['bird2'])) {
  t.test('3-node mesh: every node converges to the seed routes and table', async (t) => {
    const c = await buildCluster({ nodes: 3 });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);

    const n6 = c.nodes[0]!;
    t.same(await birdRoutes(n6), SEED_LINES_N6, 'node .6 holds the seed lines exactly');
    const table = (await n6.host.routes(4)).split('\n').map((l) => l.trim()).filter((l) => l !== '');
    t.same(table, ['default via 10.160.105.1 dev eth0', '10.160.105.0/24 dev eth0 proto kernel scope link src 10.160.105.6', ...SEED_LINES_N6], 'the whole IPv4 table');
    for (const n of c.nodes) t.same(await birdRoutes(n), expectedBirdRoutes(c, n), `node ${n.address}: blackhole for its block, tunl0 onlink to the others`);

    // calicoctl's table, with the SINCE column (wall clock) masked.
    const out = (await n6.wren!.ctlText(['show', 'neighbors'])).stdout.replace(/\d\d:\d\d:\d\d/g, 'HH:MM:SS');
    t.equal(
      out,
      [
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 10.160.105.7 | node-to-node mesh | up    | HH:MM:SS | Established |',
        '| 10.160.105.8 | node-to-node mesh | up    | HH:MM:SS | Established |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
      ].join('\n'),
      'bgpctl show neighbors prints the seed calicoctl table',
    );

    // Calico's mesh rule: exactly one side of each pair is passive (the one whose peer's address is
    // greater as a string), so .6 accepted both sessions and .8 opened both.
    const ns6 = await n6.wren!.neighbors();
    t.same(ns6.map((n) => [n.address, n.passive]), [['10.160.105.7', true], ['10.160.105.8', true]]);
    const ns8 = await c.nodes[2]!.wren!.neighbors();
    t.same(ns8.map((n) => [n.address, n.passive]), [['10.160.105.6', false], ['10.160.105.7', false]]);
  });
}
