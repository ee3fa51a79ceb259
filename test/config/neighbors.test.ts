// Specification of the effective neighbour list: Calico names, peer types, the passive rule,
// route-reflector topology, per-peer defaults.

import t from 'tap';
import { calicoPassive, formatConfigError, loadConfig, neighbors, type Config } from '../../config/index.js';

function load(yaml: string): Config {
  const r = loadConfig(yaml, 'bgpd.conf');
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

/** The seed cluster's config for one node: the same mesh list on every node. */
const seed = (own: string): string => `asn: 64512
node-address: ${own}/24
pools: [{ cidr: 172.18.64.0/18, ipip-mode: Always }]
mesh:
  nodes: [10.160.105.6, 10.160.105.7, 10.160.105.8]
`;

t.test('seed cluster: names, peer type, and exactly one passive side per pair (calico.md §1.3)', async (t) => {
  const view = (own: string) =>
    neighbors(load(seed(own))).map((n) => ({ name: n.name, peerType: n.peerType, passive: n.passive }));
  // .6 has the smallest address: both its peers' addresses are greater, so it waits for both.
  t.same(view('10.160.105.6'), [
    { name: 'Mesh_10_160_105_7', peerType: 'node-to-node mesh', passive: true },
    { name: 'Mesh_10_160_105_8', peerType: 'node-to-node mesh', passive: true },
  ]);
  t.same(view('10.160.105.7'), [
    { name: 'Mesh_10_160_105_6', peerType: 'node-to-node mesh', passive: false },
    { name: 'Mesh_10_160_105_8', peerType: 'node-to-node mesh', passive: true },
  ]);
  t.same(view('10.160.105.8'), [
    { name: 'Mesh_10_160_105_6', peerType: 'node-to-node mesh', passive: false },
    { name: 'Mesh_10_160_105_7', peerType: 'node-to-node mesh', passive: false },
  ]);
  // Every pair: one side passive, the other active.
  const nodes = ['10.160.105.6', '10.160.105.7', '10.160.105.8'];
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      const ab = neighbors(load(seed(a))).find((n) => n.address === b);
      const ba = neighbors(load(seed(b))).find((n) => n.address === a);
      t.not(ab?.passive, ba?.passive, `${a} <-> ${b}`);
    }
  }
});

t.test('the passive comparison is on strings, not numbers', async (t) => {
  // "10.0.0.9" > "10.0.0.10" as strings: the node .10 waits for .9 to connect.
  t.equal(calicoPassive('10.0.0.10', '10.0.0.9'), true);
  t.equal(calicoPassive('10.0.0.9', '10.0.0.10'), false);
});

t.test('a mesh neighbour in full (seed node .6)', async (t) => {
  t.same(neighbors(load(seed('10.160.105.6')))[0], {
    name: 'Mesh_10_160_105_7',
    kind: 'mesh',
    peerType: 'node-to-node mesh',
    address: '10.160.105.7',
    family: 'ipv4',
    port: 179,
    asn: 64512,
    localAsn: 64512,
    internal: true,
    passive: true,
    routeReflectorClient: false,
    sourceAddress: '10.160.105.6',
    nextHop: 'auto',
    addPath: 'both',
    gracefulRestart: { enabled: true, restartTimeSec: 120 },
    holdTimeSec: 240,
    keepaliveSec: 80,
    connectRetrySec: 5,
    connectDelaySec: 2,
    errorWaitMinSec: 5,
    errorWaitMaxSec: 30,
    allowLocalAs: 0,
    enforceFirstAs: true,
    enabled: true,
  });
});

t.test('mesh settings: password, restart time, per-node AS and port', async (t) => {
  const c = load(`asn: 64512
node-address: 10.0.0.1/24
listen: { port: 1790 }
mesh:
  password: s3cret
  restart-time: 300
  nodes: [10.0.0.2, { address: 10.0.0.3, asn: 65000, port: 1791 }]
`);
  const [a, b] = neighbors(c);
  t.match(a, { password: 's3cret', port: 1790, asn: 64512, internal: true, gracefulRestart: { restartTimeSec: 300 } });
  t.match(b, { port: 1791, asn: 65000, internal: false });
});

t.test('route reflectors (calico.md §1.5)', async (t) => {
  const base = `asn: 64512
node-address: 10.0.0.1/24
mesh:
  nodes: [10.0.0.1, 10.0.0.2, { address: 10.0.0.100, route-reflector: true }]
`;
  t.same(
    neighbors(load(base)).map((n) => n.name),
    ['Mesh_10_0_0_2'],
    'other nodes leave route reflectors out of the mesh',
  );
  const rr = load(`${base}route-reflector: { cluster-id: 244.0.0.1 }
peers:
  - { address: 10.0.0.2, asn: 64512, route-reflector-client: true }
  - { address: 10.0.0.200, asn: 64512 }
`);
  const ns = neighbors(rr);
  t.same(ns.map((n) => n.name), ['Global_10_0_0_2', 'Global_10_0_0_200'], 'a route reflector leaves the mesh');
  t.match(ns[0], { routeReflectorClient: true, clusterId: '244.0.0.1' });
  t.notOk(ns[1] !== undefined && 'clusterId' in ns[1], 'non-clients carry no cluster id');
});

t.test('explicit peers: names, types and the automatic passive rule (calico.md §1.4)', async (t) => {
  const c = load(`asn: 64512
node-address: 10.0.0.5/24
node-address-v6: fd00::5/64
mesh: { enabled: false, nodes: [10.0.0.5, 10.0.0.9, 10.0.0.3] }
peers:
  - { address: 10.0.0.9, asn: 64512 }
  - { address: 10.0.0.3, asn: 64512 }
  - { address: 10.0.0.9, asn: 64512, scope: node, port: 1790 }
  - { address: 192.168.1.1, asn: 65001, passive: true }
  - { address: 'fd00::1', asn: 65001, scope: node }
  - { address: 10.0.0.250, asn: 65001, port: 1790, source-address: none }
`);
  t.same(
    neighbors(c).map((n) => [n.name, n.peerType, n.passive, n.port]),
    [
      // a Calico node with a greater address: passive, as BIRD on the other side connects
      ['Global_10_0_0_9', 'global', true, 179],
      ['Global_10_0_0_3', 'global', false, 179],
      // node-specific peers never get automatic passive
      ['Node_10_0_0_9_port_1790', 'node specific', false, 1790],
      ['Global_192_168_1_1', 'global', true, 179],
      ['Node_fd00__1', 'node specific', false, 179],
      ['Global_10_0_0_250_port_1790', 'global', false, 1790],
    ],
  );
  const v6 = neighbors(c)[4];
  t.match(v6, { family: 'ipv6', sourceAddress: 'fd00::5', internal: false });
  t.notOk(neighbors(c)[5] !== undefined && 'sourceAddress' in (neighbors(c)[5] ?? {}), "source-address none: the kernel's choice");
});

t.test('per-peer overrides', async (t) => {
  const c = load(`asn: 64512
node-address: 10.0.0.5/24
timers: { hold: 90 }
graceful-restart: { restart-time: 60 }
peers:
  - address: 10.0.0.1
    asn: 65001
    local-asn: 65010
    hold: 30
    password: k
    ttl-security: 1
    max-prefix: { limit: 100, action: restart }
    next-hop: self
    add-path: rx
    graceful-restart: { enabled: false }
    allow-local-as: 2
    reachable-by: 10.0.0.254
    enabled: false
  - { address: 10.0.0.2, asn: 65001, keepalive: 10 }
`);
  const [a, b] = neighbors(c);
  t.match(a, {
    asn: 65001,
    localAsn: 65010,
    holdTimeSec: 30,
    keepaliveSec: 10,
    password: 'k',
    ttlSecurityHops: 1,
    maxPrefix: { limit: 100, action: 'restart' },
    nextHop: 'self',
    addPath: 'rx',
    gracefulRestart: { enabled: false, restartTimeSec: 60 },
    allowLocalAs: 2,
    reachableBy: '10.0.0.254',
    enabled: false,
  });
  t.match(b, { holdTimeSec: 90, keepaliveSec: 10 });
});

t.test('IPv6 mesh nodes need node-address-v6; without it they are skipped', async (t) => {
  const yaml = `asn: 64512
node-address: 10.0.0.1/24
mesh: { nodes: [10.0.0.1, 10.0.0.2, 'fd00::1', 'fd00::2'] }
`;
  t.same(neighbors(load(yaml)).map((n) => n.name), ['Mesh_10_0_0_2']);
  t.same(
    neighbors(load(`${yaml}node-address-v6: fd00::1/64\n`)).map((n) => n.name),
    ['Mesh_10_0_0_2', 'Mesh_fd00__2'],
  );
});

t.test('the list is frozen and memoised', async (t) => {
  const c = load(seed('10.160.105.6'));
  const ns = neighbors(c);
  t.equal(neighbors(c), ns);
  t.ok(Object.isFrozen(ns) && ns.every((n) => Object.isFrozen(n)));
});
