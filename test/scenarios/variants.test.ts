// The seed cluster's other shapes: BIRD 1.6 nodes mixed in, two route reflectors, CrossSubnet across
// two subnets, and dual stack. Each asserts sessions, RIB and `ip route` text.
import t from 'tap';
import { requireLab } from '../lab/lib/index.js';
import { buildCluster, waitConverged, birdRoutes, expectedBirdRoutes, birdc } from '../lab/cluster.js';
import { waitFor } from '../lab/lib/wait.js';
import { run } from '../lab/lib/exec.js';
import { join } from 'node:path';

if (await requireLab(t, ['bird1'])) {
  t.test('mixed mesh: one wren node, two BIRD 1.6 nodes with Calico-style config', async (t) => {
    const c = await buildCluster({ nodes: 3, mode: 'mixed' });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);
    const [n6, n7, n8] = c.nodes;
    t.same(await birdRoutes(n6!), expectedBirdRoutes(c, n6!), 'wren node: seed lines');
    for (const b of [n7!, n8!]) {
      const protos = await waitFor(async () => {
        const out = await birdc(b, 'show protocols');
        return /Mesh_10_160_105_6\s+BGP\s+master\s+up\s+\S+\s+Established/.test(out) ? out : undefined;
      }, { timeoutMs: 30_000, what: `BIRD on ${b.address}: Mesh_10_160_105_6 Established` });
      t.match(protos, /Mesh_10_160_105_6\s+BGP\s+master\s+up/, `BIRD 1.6 on ${b.address} has wren up`);
      const route = await birdc(b, `show route for 172.18.64.0/26 all`);
      t.match(route, /172\.18\.64\.0\/26\s+via 10\.160\.105\.6 on eth0 \[Mesh_10_160_105_6/, `BIRD on ${b.address} learned wren's block`);
      t.match(route, /BGP\.origin: IGP/);
      t.match(await b.host.routes(4), /172\.18\.64\.0\/26 via 10\.160\.105\.6 dev eth0 proto bird/, `and installed it in its kernel`);
    }
  });
}

if (await requireLab(t, ['bird2'])) {
  t.test('route reflectors: two wren reflectors, three clients', async (t) => {
    const c = await buildCluster({ nodes: 3, mode: 'rr' });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);
    const clients = c.nodes.filter((n) => n.role !== 'rr');
    for (const n of clients) {
      t.same(await birdRoutes(n), expectedBirdRoutes(c, n), `client ${n.address}: tunl0 routes to the other clients`);
      const ns = await n.wren!.neighbors();
      t.same(ns.map((x) => [x.address, x.peerType, x.state]), [['10.160.105.2', 'global', 'Established'], ['10.160.105.3', 'global', 'Established']]);
      // A reflected route carries the originator and the cluster (RFC 4456 §8).
      const other = clients.find((o) => o !== n)!;
      const [r] = await n.wren!.routes(other.block);
      t.equal(r?.originatorId, other.address, `route to ${other.block} has ORIGINATOR_ID ${other.address}`);
      t.same(r?.clusterList, ['244.0.0.1'], 'and CLUSTER_LIST [244.0.0.1]');
    }
    for (const rr of c.nodes.filter((n) => n.role === 'rr')) {
      const ns = await rr.wren!.neighbors();
      t.equal(ns.filter((x) => x.state === 'Established').length, 4, `reflector ${rr.address}: 3 clients and the other reflector up`);
      t.same(await birdRoutes(rr), expectedBirdRoutes(c, rr), `reflector ${rr.address} programs the clients' blocks`);
    }
  });

  t.test('CrossSubnet: direct routes inside the subnet, IPIP across it', async (t) => {
    const c = await buildCluster({ nodes: 3, crossSubnet: true });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);
    const [n6, n7, n8] = c.nodes;
    t.same(await birdRoutes(n6!), [
      'blackhole 172.18.64.0/26 proto bird',
      '172.18.96.128/26 via 10.160.105.8 dev eth0 proto bird',
      '172.18.101.64/26 via 10.160.106.7 dev tunl0 proto bird onlink',
    ], '.6: .8 is on its subnet (direct), .7 is not (tunnel)');
    t.same(await birdRoutes(n7!), expectedBirdRoutes(c, n7!), '.7 on the other subnet: tunnels to both');
    t.same(await birdRoutes(n8!), expectedBirdRoutes(c, n8!), '.8: direct to .6, tunnel to .7');
  });

  t.test('dual stack: IPv6 sessions, blocks and routes next to IPv4', async (t) => {
    const c = await buildCluster({ nodes: 3, ipv6: true });
    t.teardown(() => c.lab.close());
    await waitConverged(c, 60_000);
    const [n6] = c.nodes;
    t.same(await birdRoutes(n6!), expectedBirdRoutes(c, n6!), 'IPv4 as in the seed');
    const v6 = (await n6!.host.routes(6)).split('\n').filter((l) => l.includes('proto bird')).map((l) => l.trim());
    t.same(v6, [
      'blackhole fd00:172:18::/122 dev lo proto bird metric 1024 pref medium',
      'fd00:172:18::40/122 via fd00:10:160:105::7 dev eth0 proto bird metric 1024 pref medium',
      'fd00:172:18::80/122 via fd00:10:160:105::8 dev eth0 proto bird metric 1024 pref medium',
    ], 'IPv6: blackhole for the own block, direct routes to the others (no tunnel in IPv6)');
    const ns = await n6!.wren!.neighbors();
    t.same(ns.filter((x) => x.afi === 'ipv6').map((x) => [x.address, x.state]), [['fd00:10:160:105::7', 'Established'], ['fd00:10:160:105::8', 'Established']], 'IPv6 mesh sessions up');
    const table = (await n6!.wren!.ctlText(['show', 'neighbors'])).stdout;
    t.match(table, /IPv6 BGP status\n\+-+/, 'bgpctl shows an IPv6 section');
    t.match(table, /\| fd00:10:160:105::7 \| node-to-node mesh \| up {4}\|/);
    // calicoctl reads the IPv6 table from bird6.ctl: BIRD's own client against wren's second socket.
    const { stdout: p6 } = await run('birdc', ['-s', join(n6!.host.dir, 'bird6.ctl'), 'show', 'protocols']);
    t.match(p6, /Mesh_fd00_10_160_105__7\s+BGP\s+master\s+up\s+\S+\s+Established/, 'birdc on bird6.ctl lists the IPv6 mesh session');
    t.notMatch(p6, /Mesh_10_160_105_7/, 'and not the IPv4 one');
  });
}
