// Specification of the config loader: what it accepts, the defaults it fills in, and the exact
// `FILE:LINE:COL: message` for each kind of mistake.

import t from 'tap';
import { formatConfigError, loadConfig, type Config } from '../../config/index.js';

const FILE = 'bgpd.conf';

/** The smallest valid config: the two required keys. */
const MIN = 'asn: 64512\nnode-address: 10.160.105.6/24\n';

function errorsOf(yaml: string): string[] {
  const r = loadConfig(yaml, FILE);
  return r.ok ? [] : r.errors.map(formatConfigError);
}

function warningsOf(yaml: string): string[] {
  return loadConfig(yaml, FILE).warnings.map(formatConfigError);
}

function load(yaml: string): Config {
  const r = loadConfig(yaml, FILE);
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

t.test('defaults: the smallest config, fully normalised', async (t) => {
  t.same(load(MIN), {
    routerId: '10.160.105.6',
    routerIdFromNodeAddress: true,
    asn: 64512,
    nodeAddress: { address: '10.160.105.6', prefixLength: 24, network: '10.160.105.0/24' },
    listen: { address: '::', port: 179 },
    control: { socket: '/run/bgpd/bgpd.sock', socketMode: 0o660 },
    log: { level: 'info' },
    timers: {
      holdTimeSec: 240,
      keepaliveSec: 80,
      connectRetrySec: 5,
      connectDelaySec: 2,
      errorWaitMinSec: 5,
      errorWaitMaxSec: 30,
    },
    gracefulRestart: { enabled: true, restartTimeSec: 120, waitSec: 240 },
    kernel: {
      program: true,
      table: 254,
      protocol: 12,
      tunnelDevice: 'tunl0',
      persist: true,
      programClusterRoutes: 'Enabled',
    },
    blocks: [],
    pools: [],
    mesh: { enabled: true, nodes: [] },
    peers: [],
    metrics: {},
  });
});

t.test('the config is deep-frozen', async (t) => {
  const c = load(`${MIN}pools: [{ cidr: 172.18.64.0/18 }]\npeers: [{ address: 10.0.0.1, asn: 1 }]\n`);
  t.ok(Object.isFrozen(c));
  t.throws(() => {
    (c as { asn: number }).asn = 1;
  }, TypeError);
  t.throws(() => {
    (c.timers as { holdTimeSec: number }).holdTimeSec = 3;
  }, TypeError);
  t.throws(() => {
    (c.peers as unknown as unknown[]).push({});
  }, TypeError);
  t.throws(() => {
    (c.pools[0]?.cidr as { cidr: string }).cidr = '0.0.0.0/0';
  }, TypeError);
});

t.test('normalisation', async (t) => {
  t.test('keepalive defaults to a third of hold', async (t) => {
    t.equal(load(`${MIN}timers: { hold: 90 }`).timers.keepaliveSec, 30);
    t.equal(load(`${MIN}timers: { hold: 0 }`).timers.keepaliveSec, 0);
  });
  t.test('socket-mode reads like chmod: 0660 is octal, not YAML 1.2 decimal', async (t) => {
    t.equal(load(`${MIN}control: { socket-mode: 0660 }`).control.socketMode, 0o660);
    t.equal(load(`${MIN}control: { socket-mode: 0o640 }`).control.socketMode, 0o640);
    t.equal(load(`${MIN}control: { socket-mode: "600" }`).control.socketMode, 0o600);
  });
  t.test('IPv6 addresses are canonical (RFC 5952), as Calico prints them', async (t) => {
    const c = load(`${MIN}node-address-v6: FD00:0:0::06/64\nmesh: { nodes: ['fd00:0000::7'] }\n`);
    t.same(c.nodeAddressV6, { address: 'fd00::6', prefixLength: 64, network: 'fd00::/64' });
    t.equal(c.mesh.nodes[0]?.address, 'fd00::7');
  });
  t.test('explicit router-id', async (t) => {
    const c = load(`router-id: 1.2.3.4\n${MIN}`);
    t.equal(c.routerId, '1.2.3.4');
    t.equal(c.routerIdFromNodeAddress, false);
  });
  t.test('mesh nodes: scalar and mapping forms', async (t) => {
    const c = load(`${MIN}mesh:\n  nodes:\n    - 10.0.0.7\n    - { address: 10.0.0.8, asn: 65000, port: 1790, route-reflector: true }\n`);
    t.same(c.mesh.nodes, [
      { address: '10.0.0.7', family: 'ipv4', routeReflector: false },
      { address: '10.0.0.8', family: 'ipv4', asn: 65000, port: 1790, routeReflector: true },
    ]);
  });
  t.test('peer defaults', async (t) => {
    const c = load(`${MIN}peers: [{ address: 10.0.0.1, asn: 65001 }]\n`);
    t.same(c.peers, [
      {
        address: '10.0.0.1',
        family: 'ipv4',
        asn: 65001,
        scope: 'global',
        routeReflectorClient: false,
        nextHop: 'auto',
        addPath: 'both',
        allowLocalAs: 0,
        enforceFirstAs: true,
        enabled: true,
      },
    ]);
  });
  t.test('YAML anchors and aliases work', async (t) => {
    const c = load(`${MIN}timers: { hold: &h 90 }\npeers: [{ address: 10.0.0.1, asn: 1, hold: *h }]\n`);
    t.equal(c.peers[0]?.holdTimeSec, 90);
  });
});

/**
 * Each case: input YAML and every line `bgpd --check` prints for it, in order. The table is the
 * specification of the messages; a change here is a change to the user-visible contract.
 */
const ERROR_CASES: readonly { readonly what: string; readonly yaml: string; readonly errors: readonly string[] }[] = [
  {
    what: 'YAML syntax error stops there, with its position',
    yaml: 'asn: 64512\nnode-address: [10.0.0.1/24\n',
    errors: ['bgpd.conf:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  {
    what: 'duplicate keys are a YAML error',
    yaml: 'asn: 1\nasn: 2\nnode-address: 10.0.0.1/24\n',
    errors: ['bgpd.conf:2:1: YAML syntax error: Map keys must be unique'],
  },
  {
    what: 'empty file: both required keys missing',
    yaml: '',
    errors: [
      "bgpd.conf:1:1: missing required key 'asn' at top level",
      "bgpd.conf:1:1: missing required key 'node-address' at top level",
    ],
  },
  {
    what: 'the document must be a mapping',
    yaml: '- asn\n',
    errors: ['bgpd.conf:1:1: : expected a mapping, got a list'],
  },
  {
    what: 'type error: a string where a number belongs',
    yaml: `${MIN}timers:\n  hold: "240"\n`,
    errors: ['bgpd.conf:4:9: timers.hold: expected an integer, got string "240"'],
  },
  {
    what: 'type error: a fraction',
    yaml: `${MIN}listen: { port: 179.5 }\n`,
    errors: ['bgpd.conf:3:17: listen.port: expected an integer, got number 179.5'],
  },
  {
    what: 'type error: a mapping where a scalar belongs',
    yaml: `${MIN}log: { level: { x: 1 } }\n`,
    errors: ['bgpd.conf:3:15: log.level: expected one of fatal, error, warn, info, debug, trace, got a mapping'],
  },
  {
    what: 'type error: yes is a string in YAML 1.2, not a boolean',
    yaml: `${MIN}kernel: { persist: yes }\n`,
    errors: ['bgpd.conf:3:20: kernel.persist: expected true or false, got string "yes"'],
  },
  {
    what: 'asn range 1..4294967295 (RFC 6793)',
    yaml: 'asn: 0\nnode-address: 10.0.0.1/24\npeers: [{ address: 10.0.0.2, asn: 4294967296 }]\n',
    errors: [
      'bgpd.conf:1:6: asn: 0 is out of range 1..4294967295',
      'bgpd.conf:3:35: peers[0].asn: 4294967296 is out of range 1..4294967295',
    ],
  },
  {
    what: 'port range',
    yaml: `${MIN}listen: { port: 0 }\n`,
    errors: ['bgpd.conf:3:17: listen.port: 0 is out of range 1..65535'],
  },
  {
    what: 'hold time 1 and 2 are invalid (RFC 4271 §4.2)',
    yaml: `${MIN}timers: { hold: 2 }\npeers: [{ address: 10.0.0.2, asn: 1, hold: 70000 }]\n`,
    errors: [
      'bgpd.conf:3:17: timers.hold: hold time must be 0 or 3..65535 seconds, got 2',
      'bgpd.conf:4:44: peers[0].hold: hold time must be 0 or 3..65535 seconds, got 70000',
    ],
  },
  {
    what: 'ttl-security is 1..254 hops',
    yaml: `${MIN}peers: [{ address: 10.0.0.2, asn: 1, ttl-security: 255 }]\n`,
    errors: ['bgpd.conf:3:52: peers[0].ttl-security: 255 is out of range 1..254'],
  },
  {
    what: 'bad addresses: no regex-only parsing',
    yaml: `${MIN}mesh: { nodes: [999.1.1.1, 10.0.0.01, "1.2.3", "fe80::1%eth0", "::g"] }\n`,
    errors: [
      "bgpd.conf:3:17: mesh.nodes[0]: '999.1.1.1' is not a valid IP address",
      "bgpd.conf:3:28: mesh.nodes[1]: '10.0.0.01' is not a valid IP address",
      "bgpd.conf:3:39: mesh.nodes[2]: '1.2.3' is not a valid IP address",
      "bgpd.conf:3:48: mesh.nodes[3]: 'fe80::1%eth0' is not a valid IP address",
      "bgpd.conf:3:64: mesh.nodes[4]: '::g' is not a valid IP address",
    ],
  },
  {
    what: 'node-address needs its subnet length, and must be IPv4',
    yaml: 'asn: 1\nnode-address: 10.0.0.1\nnode-address-v6: 10.0.0.1/24\n',
    errors: [
      "bgpd.conf:2:15: node-address: '10.0.0.1' needs a prefix length (address/length), e.g. '10.0.0.1/24'",
      "bgpd.conf:3:18: node-address-v6: '10.0.0.1/24' is not an IPv6 address",
    ],
  },
  {
    what: 'router-id is a non-zero IPv4 address (RFC 6286 §2.1)',
    yaml: `router-id: 0.0.0.0\n${MIN}`,
    errors: ['bgpd.conf:1:12: router-id: router-id must not be 0.0.0.0 (RFC 6286 §2.1)'],
  },
  {
    what: 'host bits in a CIDR: say so and suggest the network',
    yaml: `${MIN}pools: [{ cidr: 172.18.64.1/18 }]\nblocks: [172.18.64.5/26, 172.18.64.0/33]\n`,
    errors: [
      "bgpd.conf:3:17: pools[0].cidr: '172.18.64.1/18' has host bits set; did you mean '172.18.64.0/18'?",
      "bgpd.conf:4:10: blocks[0]: '172.18.64.5/26' has host bits set; did you mean '172.18.64.0/26'?",
      "bgpd.conf:4:26: blocks[1]: '172.18.64.0/33' has an invalid prefix length",
    ],
  },
  {
    what: 'a block outside every pool',
    yaml: `${MIN}pools: [{ cidr: 172.18.64.0/18 }]\nblocks: [172.18.64.0/26, 10.244.0.0/26]\n`,
    errors: [
      'bgpd.conf:4:26: blocks[1]: block 10.244.0.0/26 is outside every pool; it would be neither announced nor programmed',
    ],
  },
  {
    what: 'blocks overlapping or repeated',
    yaml: `${MIN}pools: [{ cidr: 172.18.64.0/18 }]\nblocks:\n  - 172.18.64.0/26\n  - 172.18.64.32/27\n  - 172.18.64.0/26\n`,
    errors: [
      'bgpd.conf:6:5: blocks[1]: block 172.18.64.32/27 overlaps block 172.18.64.0/26 (blocks[0], line 5)',
      'bgpd.conf:7:5: blocks[2]: block 172.18.64.0/26 duplicates block 172.18.64.0/26 (blocks[0], line 5)',
    ],
  },
  {
    what: 'pools overlapping',
    yaml: `${MIN}pools:\n  - cidr: 172.16.0.0/12\n  - cidr: 172.18.0.0/16\n`,
    errors: ['bgpd.conf:5:11: pools[1].cidr: pool 172.18.0.0/16 overlaps pool 172.16.0.0/12 (pools[0], line 4)'],
  },
  {
    what: 'IPIP on an IPv6 pool; IPIP and VXLAN together',
    yaml: `${MIN}pools:\n  - { cidr: 'fd00:1::/48', ipip-mode: Always }\n  - { cidr: 10.0.0.0/8, ipip-mode: CrossSubnet, vxlan-mode: Always }\n`,
    errors: [
      'bgpd.conf:4:39: pools[0].ipip-mode: ipip-mode Always on IPv6 pool fd00:1::/48: IPIP is IPv4 only; use Never',
      'bgpd.conf:5:61: pools[1].vxlan-mode: ipip-mode and vxlan-mode cannot both be enabled on pool 10.0.0.0/8',
    ],
  },
  {
    what: 'invalid enum values list the allowed ones',
    yaml: `${MIN}pools: [{ cidr: 10.0.0.0/8, ipip-mode: always }]\npeers: [{ address: 10.0.0.2, asn: 1, add-path: yes }]\n`,
    errors: [
      "bgpd.conf:3:40: pools[0].ipip-mode: 'always' is not one of Always, CrossSubnet, Never",
      "bgpd.conf:4:48: peers[0].add-path: 'yes' is not one of off, rx, tx, both",
    ],
  },
  {
    what: 'unknown keys, with a did-you-mean',
    yaml: `${MIN}timers:\n  hold-tme: 90\nrouterId: 10.0.0.1\npools: [{ cidr: 10.0.0.0/8, ipipMode: Always }]\nfrobnicate: 1\n`,
    errors: [
      "bgpd.conf:4:3: unknown key 'hold-tme' in timers; did you mean 'hold'?",
      "bgpd.conf:5:1: unknown key 'routerId' at top level; did you mean 'router-id'?",
      "bgpd.conf:6:29: unknown key 'ipipMode' in pools[0]; did you mean 'ipip-mode'?",
      "bgpd.conf:7:1: unknown key 'frobnicate' at top level",
    ],
  },
  {
    what: 'missing required keys inside a list item',
    yaml: `${MIN}peers:\n  - asn: 64512\n  - address: 10.0.0.1\n`,
    errors: [
      "bgpd.conf:4:5: missing required key 'address' in peers[0]",
      "bgpd.conf:5:5: missing required key 'asn' in peers[1]",
    ],
  },
  {
    what: 'duplicate peers: both positions',
    yaml: `${MIN}peers:\n  - { address: 10.0.0.1, asn: 1 }\n  - { address: 10.0.0.2, asn: 1 }\n  - { address: 10.0.0.1, asn: 2, scope: node }\n`,
    errors: ['bgpd.conf:6:16: peers[2].address: duplicate peer 10.0.0.1 port 179 (peers[0], line 4)'],
  },
  {
    what: 'same address on another port is another peer',
    yaml: `${MIN}peers:\n  - { address: 10.0.0.1, asn: 1 }\n  - { address: 10.0.0.1, asn: 1, port: 1790 }\n`,
    errors: [],
  },
  {
    what: 'own node address as an explicit peer',
    yaml: `${MIN}peers: [{ address: 10.160.105.6, asn: 64512 }]\n`,
    errors: ["bgpd.conf:3:20: peers[0].address: 10.160.105.6 is this node's own address"],
  },
  {
    what: 'an explicit peer that is also an active mesh node',
    yaml: `${MIN}mesh: { nodes: [10.160.105.7] }\npeers: [{ address: 10.160.105.7, asn: 64512 }]\n`,
    errors: [
      'bgpd.conf:4:20: peers[0].address: peer 10.160.105.7 is also a mesh node (mesh.nodes[0], line 3); two sessions to one node collide: remove one, mark the node route-reflector, or disable the mesh',
    ],
  },
  {
    what: 'duplicate mesh nodes',
    yaml: `${MIN}mesh:\n  nodes:\n    - 10.0.0.7\n    - { address: 10.0.0.7 }\n`,
    errors: ['bgpd.conf:6:7: mesh.nodes[1]: duplicate mesh node 10.0.0.7 (mesh.nodes[0], line 5)'],
  },
  {
    what: 'keepalive not below hold is an error (BIRD accepts it; the session would flap)',
    yaml: `${MIN}timers: { hold: 30, keepalive: 30 }\npeers: [{ address: 10.0.0.2, asn: 1, hold: 9, keepalive: 10 }]\n`,
    errors: [
      'bgpd.conf:3:32: timers.keepalive: keepalive (30 s) must be less than hold (30 s) (RFC 4271 §4.4)',
      'bgpd.conf:4:58: peers[0].keepalive: keepalive (10 s) must be less than hold (9 s) (RFC 4271 §4.4)',
    ],
  },
  {
    what: 'keepalive 0 with a non-zero hold',
    yaml: `${MIN}timers: { keepalive: 0 }\n`,
    errors: [
      'bgpd.conf:3:22: timers.keepalive: keepalive 0 sends no KEEPALIVEs, so a hold time of 240 s would expire; set hold to 0 too, or a keepalive below 240',
    ],
  },
  {
    what: 'error-wait max below min',
    yaml: `${MIN}timers: { error-wait: { min: 60, max: 30 } }\n`,
    errors: ['bgpd.conf:3:39: timers.error-wait.max: max (30 s) is less than min (60 s)'],
  },
  {
    what: 'route-reflector-client needs a route reflector and an iBGP peer (RFC 4456)',
    yaml: `${MIN}peers: [{ address: 10.0.0.2, asn: 65000, route-reflector-client: true }]\n`,
    errors: [
      'bgpd.conf:3:66: peers[0].route-reflector-client: route-reflector-client needs route-reflector.cluster-id (this node must be a route reflector)',
      'bgpd.conf:3:66: peers[0].route-reflector-client: route-reflector-client needs an iBGP peer, but asn 65000 differs from the local AS 64512',
    ],
  },
  {
    what: 'IPv6 peer without an IPv6 node address; family mismatches',
    yaml: `${MIN}peers:\n  - { address: 'fd00::1', asn: 1 }\n  - { address: 10.0.0.2, asn: 1, source-address: 'fd00::6', reachable-by: 'fd00::1' }\n`,
    errors: [
      'bgpd.conf:4:16: peers[0].address: IPv6 peer fd00::1 needs node-address-v6 (or an explicit source-address)',
      'bgpd.conf:5:50: peers[1].source-address: source-address fd00::6 is not of the peer\'s family (ipv4)',
      'bgpd.conf:5:75: peers[1].reachable-by: reachable-by fd00::1 is not of the peer\'s family (ipv4)',
    ],
  },
  {
    what: 'kernel: reserved protocol numbers and the local table',
    yaml: `${MIN}kernel: { protocol: 3, table: 255, tunnel-device: "a/b" }\n`,
    errors: [
      'bgpd.conf:3:21: kernel.protocol: protocol 3 is reserved for the kernel (0 unspec, 1 redirect, 2 kernel, 3 boot, 4 static)',
      "bgpd.conf:3:31: kernel.table: table 255 is the kernel's local table",
      "bgpd.conf:3:51: kernel.tunnel-device: 'a/b' is not a valid interface name",
    ],
  },
  {
    what: 'control sockets: absolute paths, octal modes',
    yaml: `${MIN}control: { socket: run/bgpd.sock, socket-mode: 0999 }\n`,
    errors: [
      "bgpd.conf:3:20: control.socket: socket path 'run/bgpd.sock' must be absolute",
      "bgpd.conf:3:48: control.socket-mode: '0999' is not an octal file mode like 0660",
    ],
  },
  {
    what: 'control sockets: one path per socket',
    yaml: `${MIN}control: { bird-socket: /a.ctl, read-only-socket: /a.ctl }\n`,
    errors: ["bgpd.conf:3:51: control.read-only-socket: '/a.ctl' is already used by control.bird-socket"],
  },
  {
    what: 'metrics listener: host:port, not the BGP port',
    yaml: `${MIN}metrics: { listen: "0.0.0.0:179" }\n`,
    errors: ['bgpd.conf:3:20: metrics.listen: port 179 is already the BGP listen port'],
  },
  {
    what: 'metrics listener must be an address, not a name',
    yaml: `${MIN}metrics: { listen: "localhost:9179" }\n`,
    errors: ["bgpd.conf:3:20: metrics.listen: 'localhost' is not a valid IP address"],
  },
  {
    what: 'TCP-MD5 key length (Linux TCP_MD5SIG_MAXKEYLEN)',
    yaml: `${MIN}mesh: { password: "${'x'.repeat(81)}" }\n`,
    errors: ['bgpd.conf:3:19: mesh.password: TCP-MD5 keys are at most 80 bytes, got 81'],
  },
  {
    what: 'every error at once, in file order',
    yaml: 'asn: -1\nnode-address: 10.0.0.1/24\ntimers: { hold: x }\nlog: { levle: info }\n',
    errors: [
      'bgpd.conf:1:6: asn: -1 is out of range 1..4294967295',
      'bgpd.conf:3:17: timers.hold: expected an integer, got string "x"',
      "bgpd.conf:4:8: unknown key 'levle' in log; did you mean 'level'?",
    ],
  },
];

t.test('error cases', async (t) => {
  for (const c of ERROR_CASES) {
    t.same(errorsOf(c.yaml), c.errors, c.what);
  }
});

t.test('each error carries file, 1-based line/col, dotted path and message', async (t) => {
  const r = loadConfig(`${MIN}peers:\n  - { address: 10.0.0.1, asn: x }\n`, 'x.conf');
  t.equal(r.ok, false);
  if (r.ok) return;
  t.same(r.errors, [
    { severity: 'error', file: 'x.conf', line: 4, col: 31, path: 'peers[0].asn', message: 'peers[0].asn: expected an integer, got string "x"' },
  ]);
});

t.test('warnings do not fail the load', async (t) => {
  t.same(warningsOf(`${MIN}timers: { hold: 90, keepalive: 40 }\n`), [
    'bgpd.conf:3:32: warning: timers.keepalive: keepalive 40 s is more than a third of hold 90 s; RFC 4271 §10 suggests 30, so that one lost KEEPALIVE is not fatal',
  ]);
  t.same(warningsOf(`${MIN}timers: { hold: 0, keepalive: 5 }\n`), [
    'bgpd.conf:3:31: warning: timers.keepalive: keepalive is not used when hold is 0: no KEEPALIVEs are sent (RFC 4271 §4.4)',
  ]);
  t.same(warningsOf('asn: 23456\nnode-address: 10.0.0.1/24\n'), [
    'bgpd.conf:1:6: warning: asn: 23456 is AS_TRANS (RFC 6793 §9), not a real AS',
  ]);
  t.equal(loadConfig(`${MIN}timers: { hold: 90, keepalive: 40 }\n`, FILE).ok, true);
});

t.test('addresses accepted', async (t) => {
  for (const a of ['0.0.0.1', '255.255.255.255', '::', '::1', 'fd00::1', '2001:db8::192.0.2.1', 'FE80::1']) {
    t.same(errorsOf(`${MIN}mesh: { nodes: ['${a}'] }\n`), [], a);
  }
});
