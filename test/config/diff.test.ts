// Specification of reload semantics: for each edit to the seed node's config, the changes a
// reload must apply — and, as importantly, which sessions it must not reset.

import t from 'tap';
import {
  diffConfig,
  formatConfigError,
  loadConfig,
  PEER_FIELD_EFFECTS,
  REFRESH_FIELDS,
  RESET_FIELDS,
  type Config,
  type ConfigChange,
} from '../../config/index.js';

function load(yaml: string): Config {
  const r = loadConfig(yaml, 'bgpd.conf');
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

const BASE = `asn: 64512
node-address: 10.160.105.6/24
blocks: [172.18.64.0/26]
pools: [{ cidr: 172.18.64.0/18, ipip-mode: Always }]
mesh: { nodes: [10.160.105.6, 10.160.105.7, 10.160.105.8] }
peers: [{ address: 10.0.0.1, asn: 65001 }]
`;

/** A compact, order-preserving summary of a change list. */
function summary(cs: readonly ConfigChange[]): string[] {
  return cs.map((c) => {
    switch (c.type) {
      case 'GlobalReset':
        return `GlobalReset ${c.reason}`;
      case 'PeerAdded':
        return `PeerAdded ${c.neighbor.name}`;
      case 'PeerRemoved':
        return `PeerRemoved ${c.neighbor.name}`;
      case 'PeerChanged':
        return `PeerChanged ${c.name} [${c.fields.join(',')}]${c.needsReset ? ' reset' : ''}${c.needsRefresh ? ' refresh' : ''}${c.needsReexport ? ' reexport' : ''}`;
      case 'PolicyChanged':
        return `PolicyChanged +blocks[${c.blocksAdded.map((b) => b.cidr).join(',')}] -blocks[${c.blocksRemoved
          .map((b) => b.cidr)
          .join(',')}] +pools[${c.poolsAdded.map((p) => p.cidr.cidr).join(',')}] -pools[${c.poolsRemoved
          .map((p) => p.cidr.cidr)
          .join(',')}] ~pools[${c.poolsChanged.map((p) => p.after.cidr.cidr).join(',')}]${c.nodeNetworkChanged ? ' node-network' : ''}${
          c.routeReflectorChanged ? ' route-reflector' : ''
        }`;
      case 'ListenChanged':
        return `ListenChanged ${c.before.port} -> ${c.after.port}`;
      case 'ControlChanged':
        return `ControlChanged [${c.fields.join(',')}]`;
      case 'LogLevelChanged':
        return `LogLevelChanged ${c.before} -> ${c.after}`;
      case 'KernelChanged':
        return `KernelChanged [${c.fields.join(',')}]`;
      case 'TimersChanged':
        return `TimersChanged [${c.fields.join(',')}] peers [${c.peers.join(',')}]`;
      case 'GracefulRestartChanged':
        return `GracefulRestartChanged [${c.fields.join(',')}]`;
      case 'MetricsChanged':
        return `MetricsChanged`;
    }
  });
}

const peer = (extra: string): string => BASE.replace('{ address: 10.0.0.1, asn: 65001 }', `{ address: 10.0.0.1, asn: 65001, ${extra} }`);

const CASES: readonly { readonly what: string; readonly after: string; readonly changes: readonly string[] }[] = [
  { what: 'no change', after: BASE, changes: [] },
  {
    what: 'comments and key order do not matter',
    after: `# reordered\nnode-address: 10.160.105.6/24\nasn: 64512\n${BASE.split('\n').slice(2).join('\n')}`,
    changes: [],
  },
  {
    what: 'a node joins the mesh',
    after: BASE.replace('10.160.105.8]', '10.160.105.8, 10.160.105.9]'),
    changes: ['PeerAdded Mesh_10_160_105_9'],
  },
  {
    what: 'a node leaves the mesh',
    after: BASE.replace(', 10.160.105.8]', ']'),
    changes: ['PeerRemoved Mesh_10_160_105_8'],
  },
  {
    what: 'the mesh is disabled',
    after: BASE.replace('mesh: {', 'mesh: { enabled: false,'),
    changes: ['PeerRemoved Mesh_10_160_105_7', 'PeerRemoved Mesh_10_160_105_8'],
  },
  {
    what: 'becoming a route reflector leaves the mesh and changes export policy',
    after: `${BASE}route-reflector: { cluster-id: 244.0.0.1 }\n`,
    changes: [
      'PeerRemoved Mesh_10_160_105_7',
      'PeerRemoved Mesh_10_160_105_8',
      'PolicyChanged +blocks[] -blocks[] +pools[] -pools[] ~pools[] route-reflector',
    ],
  },
  {
    what: 'router-id change resets everything',
    after: `router-id: 1.1.1.1\n${BASE}`,
    changes: ['GlobalReset router-id 10.160.105.6 -> 1.1.1.1'],
  },
  {
    what: 'asn change resets everything (and every session sees a new local AS)',
    after: BASE.replace('asn: 64512\n', 'asn: 64513\n'),
    changes: [
      'GlobalReset asn 64512 -> 64513',
      'PeerChanged Mesh_10_160_105_7 [asn,localAsn] reset',
      'PeerChanged Mesh_10_160_105_8 [asn,localAsn] reset',
      'PeerChanged Global_10_0_0_1 [localAsn] reset',
    ],
  },
  { what: 'peer password', after: peer('password: x'), changes: ['PeerChanged Global_10_0_0_1 [password] reset'] },
  { what: 'peer AS', after: peer('asn: 65002').replace('asn: 65001, ', ''), changes: ['PeerChanged Global_10_0_0_1 [asn] reset'] },
  { what: 'peer ttl-security', after: peer('ttl-security: 1'), changes: ['PeerChanged Global_10_0_0_1 [ttlSecurityHops] reset'] },
  { what: 'peer add-path', after: peer('add-path: off'), changes: ['PeerChanged Global_10_0_0_1 [addPath] reset'] },
  {
    what: 'peer graceful-restart',
    after: peer('graceful-restart: { restart-time: 30 }'),
    changes: ['PeerChanged Global_10_0_0_1 [gracefulRestart] reset'],
  },
  {
    what: 'peer hold resets (negotiated in OPEN); its derived keepalive goes with it',
    after: peer('hold: 90'),
    changes: ['PeerChanged Global_10_0_0_1 [holdTimeSec,keepaliveSec] reset'],
  },
  { what: 'peer keepalive alone is live', after: peer('keepalive: 60'), changes: ['PeerChanged Global_10_0_0_1 [keepaliveSec]'] },
  { what: 'peer passive is live', after: peer('passive: true'), changes: ['PeerChanged Global_10_0_0_1 [passive]'] },
  {
    what: 'peer next-hop is export policy',
    after: peer('next-hop: self'),
    changes: ['PeerChanged Global_10_0_0_1 [nextHop] reexport'],
  },
  {
    what: 'peer max-prefix is live',
    after: peer('max-prefix: { limit: 10 }'),
    changes: ['PeerChanged Global_10_0_0_1 [maxPrefix]'],
  },
  { what: 'peer disabled', after: peer('enabled: false'), changes: ['PeerChanged Global_10_0_0_1 [enabled]'] },
  {
    what: 'peer port set: a different session name (Calico _port_N)',
    after: peer('port: 1790'),
    changes: ['PeerRemoved Global_10_0_0_1', 'PeerAdded Global_10_0_0_1_port_1790'],
  },
  {
    what: 'peer scope global -> node: a different session',
    after: peer('scope: node'),
    changes: ['PeerRemoved Global_10_0_0_1', 'PeerAdded Node_10_0_0_1'],
  },
  {
    what: 'mesh password touches every mesh session and nothing else',
    after: BASE.replace('mesh: {', 'mesh: { password: x,'),
    changes: ['PeerChanged Mesh_10_160_105_7 [password] reset', 'PeerChanged Mesh_10_160_105_8 [password] reset'],
  },
  {
    what: 'global hold: every session resets, TimersChanged names them',
    after: `${BASE}timers: { hold: 90 }\n`,
    changes: [
      'PeerChanged Mesh_10_160_105_7 [holdTimeSec,keepaliveSec] reset',
      'PeerChanged Mesh_10_160_105_8 [holdTimeSec,keepaliveSec] reset',
      'PeerChanged Global_10_0_0_1 [holdTimeSec,keepaliveSec] reset',
      'TimersChanged [holdTimeSec,keepaliveSec] peers [Mesh_10_160_105_7,Mesh_10_160_105_8,Global_10_0_0_1]',
    ],
  },
  {
    what: 'connect-retry is live',
    after: `${BASE}timers: { connect-retry: 10 }\n`,
    changes: [
      'PeerChanged Mesh_10_160_105_7 [connectRetrySec]',
      'PeerChanged Mesh_10_160_105_8 [connectRetrySec]',
      'PeerChanged Global_10_0_0_1 [connectRetrySec]',
      'TimersChanged [connectRetrySec] peers [Mesh_10_160_105_7,Mesh_10_160_105_8,Global_10_0_0_1]',
    ],
  },
  {
    what: 'a new block: policy only, no session touched',
    after: BASE.replace('blocks: [172.18.64.0/26]', 'blocks: [172.18.64.0/26, 172.18.64.64/26]'),
    changes: ['PolicyChanged +blocks[172.18.64.64/26] -blocks[] +pools[] -pools[] ~pools[]'],
  },
  {
    what: 'pool mode change and a new pool: policy only',
    after: BASE.replace('ipip-mode: Always }]', 'ipip-mode: CrossSubnet }, { cidr: 10.244.0.0/16 }]'),
    changes: ['PolicyChanged +blocks[] -blocks[] +pools[10.244.0.0/16] -pools[] ~pools[172.18.64.0/18]'],
  },
  {
    what: 'node subnet change (same address): CrossSubnet policy only',
    after: BASE.replace('10.160.105.6/24', '10.160.105.6/16'),
    changes: ['PolicyChanged +blocks[] -blocks[] +pools[] -pools[] ~pools[] node-network'],
  },
  {
    // "10.160.105.7" > "10.160.105.16" as strings, so .16 still waits for .7: passive unchanged.
    what: 'node address change: new source address on every session, new router id',
    after: BASE.replace('node-address: 10.160.105.6/24', 'node-address: 10.160.105.16/24'),
    changes: [
      'GlobalReset router-id 10.160.105.6 -> 10.160.105.16',
      'PeerChanged Mesh_10_160_105_7 [sourceAddress] reset',
      'PeerChanged Mesh_10_160_105_8 [sourceAddress] reset',
      'PeerChanged Global_10_0_0_1 [sourceAddress] reset',
      'PeerAdded Mesh_10_160_105_6',
    ],
  },
  { what: 'log level', after: `${BASE}log: { level: debug }\n`, changes: ['LogLevelChanged info -> debug'] },
  {
    what: 'listen port: mesh sessions follow it (Calico uses it as the nodes\' port)',
    after: `${BASE}listen: { port: 1790 }\n`,
    changes: [
      'PeerChanged Mesh_10_160_105_7 [port] reset',
      'PeerChanged Mesh_10_160_105_8 [port] reset',
      'ListenChanged 179 -> 1790',
    ],
  },
  {
    what: 'control sockets',
    after: `${BASE}control: { bird-socket: /var/run/calico/bird.ctl }\n`,
    changes: ['ControlChanged [birdSocket]'],
  },
  {
    what: 'kernel settings',
    after: `${BASE}kernel: { table: 100, program-cluster-routes: EnabledNoEncapOnly }\n`,
    changes: ['KernelChanged [table,programClusterRoutes]'],
  },
  {
    what: 'graceful-restart wait is not a session parameter',
    after: `${BASE}graceful-restart: { wait: 60 }\n`,
    changes: ['GracefulRestartChanged [waitSec]'],
  },
  { what: 'metrics listener', after: `${BASE}metrics: { listen: 127.0.0.1:9179 }\n`, changes: ['MetricsChanged'] },
];

t.test('diff cases', async (t) => {
  const before = load(BASE);
  for (const c of CASES) t.same(summary(diffConfig(before, load(c.after))), c.changes, c.what);
});

t.test('a peer overriding hold is untouched by a global hold change', async (t) => {
  const before = load(peer('hold: 30'));
  const after = load(`${peer('hold: 30')}timers: { hold: 90 }\n`);
  t.same(summary(diffConfig(before, after)), [
    'PeerChanged Mesh_10_160_105_7 [holdTimeSec,keepaliveSec] reset',
    'PeerChanged Mesh_10_160_105_8 [holdTimeSec,keepaliveSec] reset',
    'TimersChanged [holdTimeSec,keepaliveSec] peers [Mesh_10_160_105_7,Mesh_10_160_105_8]',
  ]);
});

t.test('diff is symmetric in what it finds', async (t) => {
  const a = load(BASE);
  const b = load(BASE.replace(', 10.160.105.8]', ']').replace('65001', '65002'));
  t.same(summary(diffConfig(b, a)), ['PeerChanged Global_10_0_0_1 [asn] reset', 'PeerAdded Mesh_10_160_105_8']);
});

t.test('the reset list: every reset-requiring field has a reason', async (t) => {
  t.same(RESET_FIELDS, [
    'port',
    'sourceAddress',
    'password',
    'ttlSecurityHops',
    'asn',
    'localAsn',
    'holdTimeSec',
    'addPath',
    'gracefulRestart',
  ]);
  for (const [field, e] of Object.entries(PEER_FIELD_EFFECTS)) t.ok(e.why.length > 10, field);
});

t.test('import rules are refreshed, not reset (RFC 2918 route refresh)', async (t) => {
  t.same(REFRESH_FIELDS, ['clusterId', 'allowLocalAs', 'enforceFirstAs']);
  const after = load(BASE.replace('asn: 65001 }', 'asn: 65001, allow-local-as: 1 }'));
  t.same(summary(diffConfig(load(BASE), after)), ['PeerChanged Global_10_0_0_1 [allowLocalAs] refresh']);
  const both = load(BASE.replace('asn: 65001 }', 'asn: 65001, allow-local-as: 1, hold: 30 }'));
  t.same(
    summary(diffConfig(load(BASE), both)),
    ['PeerChanged Global_10_0_0_1 [holdTimeSec,keepaliveSec,allowLocalAs] reset refresh'],
    'a reset field with it: the reset covers the refresh',
  );
});
