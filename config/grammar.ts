// The config grammar: every key, its type, range, default and documentation, in one table.
// load.ts parses with it, contrib/bgpd.schema.json is generated from it (schema.ts), and the
// unknown-key check suggests names from it. Cross-field rules (blocks inside pools, duplicate
// peers, keepalive vs hold, ...) are in load.ts because they need more than one key.

import {
  bool,
  custom,
  int,
  list,
  obj,
  oneOf,
  optional,
  parsed,
  required,
  scalarOrMap,
  str,
  withDefault,
  type JsonSchema,
  type Spec,
} from './spec.js';
import {
  parseAddress,
  parseHostPort,
  parseInterfaceAddress,
  parsePrefix,
  type Family,
  type ParsedAddress,
  type ParsedInterfaceAddress,
  type ParseResult,
} from './ip.js';
import {
  ADD_PATH_MODES,
  CLUSTER_ROUTE_MODES,
  ENCAP_MODES,
  LOG_LEVELS,
  MAX_PREFIX_ACTIONS,
  NEXT_HOP_MODES,
  PEER_SCOPES,
} from './types.js';

const utf8 = new TextEncoder();
const utf8Length = (s: string): number => utf8.encode(s).length;

const familyName = (f: Family): string => (f === 'ipv4' ? 'IPv4' : 'IPv6');

function ofFamily<T>(r: ParseResult<T>, fam: (v: T) => Family, want: Family | undefined, text: string): ParseResult<T> {
  if (!r.ok || want === undefined || fam(r.value) === want) return r;
  return { ok: false, reason: `'${text}' is not an ${familyName(want)} address` };
}

const address = (family?: Family, extra?: (a: ParsedAddress) => string | undefined): Spec<ParsedAddress> =>
  parsed(
    (s) => {
      const r = ofFamily(parseAddress(s), (a) => a.family, family, s);
      const problem = r.ok ? extra?.(r.value) : undefined;
      return problem === undefined ? r : { ok: false, reason: problem };
    },
    family === undefined
      ? { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] }
      : { type: 'string', format: family },
  );

const interfaceAddress = (family: Family): Spec<ParsedInterfaceAddress> =>
  parsed((s) => ofFamily(parseInterfaceAddress(s), (a) => a.address.family, family, s), {
    type: 'string',
    pattern: family === 'ipv4' ? '^[0-9.]+/[0-9]+$' : '^[0-9A-Fa-f:.]+/[0-9]+$',
  });

const prefix = () => parsed(parsePrefix, { type: 'string', pattern: '^[0-9A-Fa-f:.]+/[0-9]+$' });

const asn = () => int({ min: 1, max: 4294967295 });
const port = () => int({ min: 1, max: 65535 });
const seconds = (min: number, max = 65535) => int({ min, max });

/** RFC 4271 §4.2: "the Hold Time MUST be either zero or at least three seconds". */
const holdTime = () =>
  int({
    min: 0,
    max: 65535,
    check: (n) => (n === 0 || (n >= 3 && n <= 65535) ? undefined : `hold time must be 0 or 3..65535 seconds, got ${n}`),
    schema: { type: 'integer', anyOf: [{ const: 0 }, { minimum: 3, maximum: 65535 }] },
  });

/** Linux interface names: IFNAMSIZ is 16 including the NUL; '/' and whitespace are refused by the kernel. */
const ifname = () =>
  str({
    check: (s) =>
      s.length > 15 || /[/\s:]/.test(s) || s === '.' || s === '..' ? `'${s}' is not a valid interface name` : undefined,
    schema: { type: 'string', maxLength: 15, pattern: '^[^/\\s:]+$' },
  });

/** Unix socket paths: absolute, and within sun_path (108 bytes including the NUL). */
const socketPath = () =>
  str({
    check: (s) =>
      !s.startsWith('/')
        ? `socket path '${s}' must be absolute`
        : utf8Length(s) > 107
          ? `socket path is ${utf8Length(s)} bytes; unix sockets allow at most 107`
          : undefined,
    schema: { type: 'string', pattern: '^/', maxLength: 107 },
  });

/**
 * A file mode. Written `0660` it is octal, as in chmod; YAML 1.2 would read that as decimal 660,
 * so the source text is used. `0o660` and the string "0660" work too.
 */
const fileMode = () =>
  custom<number>(
    (value, source) => {
      const written = typeof value === 'string' ? value : (source ?? String(value));
      const text = written.replace(/^0o/, '');
      if (!/^[0-7]{3,4}$/.test(text)) return { ok: false, reason: `'${written}' is not an octal file mode like 0660` };
      const mode = parseInt(text, 8);
      return mode > 0o777 ? { ok: false, reason: `mode ${text} has bits beyond 0777` } : { ok: true, value: mode };
    },
    { type: ['string', 'integer'], pattern: '^0?o?[0-7]{3,4}$' },
  );

/** TCP-MD5 (RFC 2385) keys are at most 80 bytes on Linux (TCP_MD5SIG_MAXKEYLEN). */
const md5Password = () =>
  str({
    check: (s) => (utf8Length(s) > 80 ? `TCP-MD5 keys are at most 80 bytes, got ${utf8Length(s)}` : undefined),
    schema: { type: 'string', maxLength: 80 },
  });

const sourceAddress = () =>
  parsed<ParsedAddress | 'none'>((s) => (s === 'none' ? { ok: true, value: 'none' } : parseAddress(s)), {
    type: 'string',
    description: "an IP address, or 'none' to let the kernel choose",
  });

const group = () =>
  str({
    check: (s) => (/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(s) ? undefined : `'${s}' is not a group name or gid`),
  });

// ---------------------------------------------------------------------------------------------

export const timersSpec = obj('BGP session timers (BIRD option names in brackets). Peers may override hold and keepalive.', {
  hold: withDefault(holdTime(), 240, 'Hold time proposed in OPEN, seconds: 0 (no keepalives) or 3..65535. [hold time]'),
  keepalive: optional(
    seconds(0),
    'Seconds between KEEPALIVEs. Default: hold/3 (80 with the default hold), RFC 4271 §10. Must be below hold; above hold/3 is a warning. [keepalive time]',
  ),
  'connect-retry': withDefault(seconds(1), 5, 'Seconds between outgoing connection attempts (RFC 4271 ConnectRetryTimer). Calico: 5. [connect retry time]'),
  'connect-delay': withDefault(seconds(0), 2, 'Seconds to wait before the first connection attempt after start. Calico: 2. [connect delay time]'),
  'error-wait': withDefault(
    obj('Back-off after a session error: starts at min, doubles per consecutive error up to max. Calico: 5,30. [error wait time MIN,MAX]', {
      min: withDefault(seconds(1), 5, 'First back-off, seconds.'),
      max: withDefault(seconds(1), 30, 'Longest back-off, seconds; at least min.'),
    }),
    {},
    'Back-off after session errors.',
  ),
});

const meshNodeSpec = obj('A node of the cluster, with per-node settings.', {
  address: required(address(), "The node's BGP address (Node.spec.bgp.ipv4Address/ipv6Address, without the length)."),
  asn: optional(asn(), "The node's AS (Node.spec.bgp.asNumber). Default: this node's asn."),
  port: optional(port(), "The node's BGP listen port. Default: listen.port (BGPConfiguration.listenPort)."),
  'route-reflector': withDefault(
    bool(),
    false,
    'The node is a route reflector (has routeReflectorClusterID): no mesh session to it (calico.md §1.5).',
  ),
});

export const peerSpec = obj('An explicit BGP peer (Calico BGPPeer).', {
  address: required(address(), 'Neighbour address (BGPPeer.peerIP).'),
  asn: required(asn(), 'Neighbour AS (BGPPeer.asNumber); equal to asn for iBGP.'),
  'local-asn': optional(asn(), 'Local AS for this session only (BGPPeer.localASNumber). Default: asn.'),
  scope: withDefault(
    oneOf(PEER_SCOPES),
    'global',
    'global: a peer of every node, named Global_<ip>; node: this node only, named Node_<ip> (calico.md §1.4).',
  ),
  'route-reflector-client': withDefault(
    bool(),
    false,
    'Treat the peer as a route-reflector client (RFC 4456). Needs route-reflector.cluster-id and an iBGP peer.',
  ),
  passive: optional(
    bool(),
    "Never connect; only accept. Default: Calico's rule — a global peer that is a mesh node is passive when its address is greater as a string (calico.md §1.4); otherwise active.",
  ),
  password: optional(md5Password(), 'TCP-MD5 key (RFC 2385), at most 80 bytes (BGPPeer.password).'),
  'ttl-security': optional(
    int({ min: 1, max: 254 }),
    'GTSM (RFC 5082): send TTL 255 and accept only packets from at most this many hops away (BGPPeer.ttlSecurity).',
  ),
  'max-prefix': optional(
    obj('Limit on prefixes accepted from the peer.', {
      limit: required(int({ min: 1, max: 4294967295 }), 'Most prefixes accepted from the peer.'),
      action: withDefault(
        oneOf(MAX_PREFIX_ACTIONS),
        'warn',
        'warn: log once; restart: close with Cease/Maximum Number of Prefixes Reached (RFC 4486) and retry after error-wait.',
      ),
    }),
    'Maximum-prefix limit. Default: none.',
  ),
  'next-hop': withDefault(
    oneOf(NEXT_HOP_MODES),
    'auto',
    'auto: RFC 4271 rules; self: always our address; keep: never rewrite (BGPPeer.nextHopMode, keepOriginalNextHop).',
  ),
  hold: optional(holdTime(), 'Hold time for this peer, overriding timers.hold.'),
  keepalive: optional(seconds(0), 'Keepalive for this peer (BGPPeer.keepaliveTime). Default: hold/3 if hold is set here, else timers.keepalive.'),
  'source-address': optional(
    sourceAddress(),
    "Local address of the TCP session (BGPPeer.sourceAddress): an address, or 'none' for the kernel's choice. Default: node-address (node-address-v6 for IPv6 peers).",
  ),
  port: optional(port(), "Neighbour port. Default: the node's port if the peer is a mesh node, else 179. When set, the name gets _port_<N>."),
  'add-path': withDefault(oneOf(ADD_PATH_MODES), 'both', 'ADD-PATH (RFC 7911) directions advertised: off, rx, tx, both.'),
  'graceful-restart': optional(
    obj('Graceful restart for this peer, overriding graceful-restart.', {
      enabled: optional(bool(), 'Advertise the Graceful Restart capability to this peer.'),
      'restart-time': optional(seconds(1, 4095), 'Restart time advertised to this peer (BGPPeer.maxRestartTime).'),
    }),
    'Per-peer graceful-restart overrides.',
  ),
  'allow-local-as': withDefault(
    int({ min: 0, max: 255 }),
    0,
    'Accept routes whose AS_PATH holds our AS up to this many times (BGPPeer.numAllowedLocalASNumbers).',
  ),
  'enforce-first-as': withDefault(
    bool(),
    true,
    "eBGP: an UPDATE whose AS_PATH does not start with the peer's AS is treated as a withdraw (RFC 4271 §6.3, RFC 7606 §7.2), as FRR does by default. false for a route server, which does not add its own AS.",
  ),
  'reachable-by': optional(
    address(),
    'Gateway to reach the peer: a /32 (/128) route to the peer via it is installed (BGPPeer.reachableBy).',
  ),
  enabled: withDefault(bool(), true, 'false keeps the peer configured but down (Cease/Administrative Shutdown).'),
});

export const poolSpec = obj('An IP pool (Calico IPPool).', {
  cidr: required(prefix(), 'The pool prefix; routes inside it are exported and programmed per its modes.'),
  'ipip-mode': withDefault(
    oneOf(ENCAP_MODES),
    'Never',
    'Always: remote blocks via <next hop> dev tunnel-device onlink; CrossSubnet: only when the next hop is outside node-address\'s subnet; Never: plain routes. IPv4 only.',
  ),
  'vxlan-mode': withDefault(
    oneOf(ENCAP_MODES),
    'Never',
    'Always/CrossSubnet: Felix programs the routes, wren only announces the blocks; Never: no VXLAN.',
  ),
  'disable-bgp-export': withDefault(bool(), false, 'Never announce routes inside the pool (received ones are still programmed).'),
});

export const configSpec = obj('wren bgpd configuration (/etc/bgpd/bgpd.conf).', {
  'router-id': optional(
    address('ipv4', (a) => (a.value === 0n ? 'router-id must not be 0.0.0.0 (RFC 6286 §2.1)' : undefined)),
    'BGP Identifier (RFC 4271 §4.2): a non-zero IPv4 address, also used for IPv6 sessions. Default: the address of node-address.',
  ),
  asn: required(asn(), 'This node\'s AS number, 1..4294967295 (BGPConfiguration.asNumber / Node.spec.bgp.asNumber).'),
  'node-address': required(
    interfaceAddress('ipv4'),
    "This node's IPv4 BGP address with its subnet length (Node.spec.bgp.ipv4Address), e.g. 10.160.105.6/24: source address, default router-id, and the subnet for IPIP CrossSubnet.",
  ),
  'node-address-v6': optional(
    interfaceAddress('ipv6'),
    "This node's IPv6 BGP address with its subnet length; needed for IPv6 peers.",
  ),
  listen: withDefault(
    obj('Where wren accepts BGP connections.', {
      address: withDefault(address(), '::', "Listen address; '::' accepts IPv4 and IPv6 (bindMode None). Set node-address's address for bindMode NodeIP."),
      port: withDefault(port(), 179, 'Listen port (BGPConfiguration.listenPort); also the default port of mesh peers.'),
    }),
    {},
    'BGP listener.',
  ),
  control: withDefault(
    obj('Local control sockets.', {
      socket: withDefault(socketPath(), '/run/bgpd/bgpd.sock', 'bgpctl socket (JSON and text commands).'),
      'bird-socket': optional(socketPath(), "BIRD 1.6-compatible socket for birdc and calicoctl node status, e.g. /var/run/calico/bird.ctl."),
      'bird6-socket': optional(socketPath(), "BIRD 1.6-compatible socket for the IPv6 sessions (Calico runs bird6 on /var/run/calico/bird6.ctl), e.g. /var/run/calico/bird6.ctl."),
      'read-only-socket': optional(socketPath(), 'A second bgpctl socket that only accepts show commands; always mode 0666 (OpenBGPD bgpd -r).'),
      'socket-group': optional(group(), 'Group owning socket and bird-socket (name or numeric gid). Default: the daemon\'s group.'),
      'socket-mode': withDefault(fileMode(), '0660', 'Permission bits of socket and bird-socket, octal.'),
    }),
    {},
    'Control sockets.',
  ),
  log: withDefault(
    obj('Logging.', {
      level: withDefault(oneOf(LOG_LEVELS), 'info', 'Least severe level logged: fatal, error, warn, info, debug, trace. bgpctl log level changes it at run time.'),
    }),
    {},
    'Logging.',
  ),
  timers: withDefault(timersSpec, {}, 'Session timers; Calico/BIRD defaults.'),
  'graceful-restart': withDefault(
    obj('Graceful restart (RFC 4724).', {
      enabled: withDefault(bool(), true, 'Advertise the Graceful Restart capability and keep routes of restarting peers.'),
      'restart-time': withDefault(seconds(1, 4095), 120, 'Restart Time advertised in the capability, seconds (12-bit field, RFC 4724 §3).'),
      'stale-time': optional(seconds(1), "After a restarting peer reconnects, longest wait for its End-of-RIB before its stale routes go. Default: no limit beyond the peer's restart time."),
      wait: withDefault(seconds(1), 240, 'After our own restart, longest wait for End-of-RIB from every peer before pruning stale kernel routes (BIRD graceful restart wait).'),
    }),
    {},
    'Graceful restart.',
  ),
  kernel: withDefault(
    obj('Kernel route programming.', {
      program: withDefault(bool(), true, 'false: compute routes but write none (a dedicated route reflector).'),
      table: withDefault(
        int({
          min: 1,
          max: 4294967295,
          check: (n) => (n === 255 ? 'table 255 is the kernel\'s local table' : n < 1 || n > 4294967295 ? `${n} is out of range 1..4294967295` : undefined),
        }),
        254,
        'Routing table (254 = main).',
      ),
      protocol: withDefault(
        int({
          min: 5,
          max: 255,
          check: (n) =>
            n >= 0 && n <= 4
              ? `protocol ${n} is reserved for the kernel (0 unspec, 1 redirect, 2 kernel, 3 boot, 4 static)`
              : n < 5 || n > 255
                ? `${n} is out of range 5..255`
                : undefined,
        }),
        12,
        'rtnetlink protocol of the routes wren owns; 12 (bird) is what Calico Felix leaves alone.',
      ),
      'tunnel-device': withDefault(ifname(), 'tunl0', 'IPIP device for ipip-mode routes.'),
      persist: withDefault(bool(), true, 'Keep routes in the kernel when wren stops, and adopt them on restart.'),
      device: optional(ifname(), 'The node NIC for CrossSubnet/Never routes to next hops on its subnet. Default: resolved from the kernel.'),
      'program-cluster-routes': withDefault(
        oneOf(CLUSTER_ROUTE_MODES),
        'Enabled',
        'Which pool routes wren programs (BGPConfiguration.programClusterRoutes): Enabled, Disabled, EnabledIPIPOnly, EnabledNoEncapOnly (Calico v3.33 default; Felix then owns IPIP routes).',
      ),
    }),
    {},
    'Kernel routes.',
  ),
  blocks: withDefault(list(prefix()), [], "This node's IPAM blocks: blackholed locally (except /32 and /128) and announced. Each must be inside a pool."),
  pools: withDefault(list(poolSpec), [], 'IP pools: decide export and how routes inside them are programmed.'),
  mesh: withDefault(
    obj('Calico node-to-node mesh (BGPConfiguration.nodeToNodeMeshEnabled).', {
      enabled: withDefault(bool(), true, 'Peer with every other node in nodes (skipped entirely on a route reflector).'),
      password: optional(md5Password(), 'TCP-MD5 key for mesh sessions (BGPConfiguration.nodeMeshPassword).'),
      'restart-time': optional(seconds(1, 4095), 'Graceful-restart time advertised on mesh sessions (nodeMeshMaxRestartTime). Default: graceful-restart.restart-time.'),
      nodes: withDefault(
        list(scalarOrMap(address(), meshNodeSpec)),
        [],
        "The cluster's nodes: an address, or a mapping with per-node settings. The same list can be shared by every node; this node's own address is skipped.",
      ),
    }),
    {},
    'Node-to-node mesh.',
  ),
  peers: withDefault(list(peerSpec), [], 'Explicit peers (route reflectors, ToR routers): Global_<ip> or, with scope: node, Node_<ip>.'),
  'route-reflector': optional(
    obj('This node is a route reflector (Node.spec.bgp.routeReflectorClusterID).', {
      'cluster-id': required(address('ipv4'), 'CLUSTER_ID (RFC 4456 §7), dotted quad, e.g. 244.0.0.1.'),
    }),
    'Present: this node reflects routes and leaves the node-to-node mesh (calico.md §1.5).',
  ),
  metrics: withDefault(
    obj('Prometheus metrics.', {
      listen: optional(parsed(parseHostPort, { type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):[0-9]+$' }), 'host:port for GET /metrics, e.g. 127.0.0.1:9179 or [::1]:9179. Default: no metrics listener.'),
    }),
    {},
    'Metrics.',
  ),
});

export type RawConfig = ReturnType<typeof configSpec.parseLenient>;

/** The JSON Schema (draft-07, what yaml-language-server reads best) shipped as contrib/bgpd.schema.json, for yaml-language-server. */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'wren bgpd.conf',
    ...configSpec.schema(),
  };
}
