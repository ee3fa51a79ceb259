// The effective BGP neighbours of a Config: mesh sessions expanded from mesh.nodes plus the
// explicit peers, each with every session parameter resolved (defaults, overrides, Calico rules).
// This is what the daemon instantiates sessions from, what `bgpctl show neighbors` and the
// BIRD-compatible socket name, and what diff.ts compares across reloads.

import type {
  AddPathMode,
  Config,
  Family,
  MaxPrefixConfig,
  MeshNodeConfig,
  NextHopMode,
  PeerConfig,
} from './types.js';

/** PEER TYPE column of `calicoctl node status` (calico.md §3.3). */
export const PEER_TYPE_LABELS = {
  mesh: 'node-to-node mesh',
  global: 'global',
  node: 'node specific',
} as const;

export type NeighborKind = keyof typeof PEER_TYPE_LABELS;
export type PeerTypeLabel = (typeof PEER_TYPE_LABELS)[NeighborKind];

/** Protocol-name prefixes (calico.md §1.3, §1.4). */
const NAME_PREFIX = { mesh: 'Mesh_', global: 'Global_', node: 'Node_' } as const satisfies Record<NeighborKind, string>;

export interface Neighbor {
  /** Calico/BIRD protocol name: Mesh_10_160_105_7, Global_10_0_0_1_port_1790, Node_fd00__1 */
  readonly name: string;
  readonly kind: NeighborKind;
  readonly peerType: PeerTypeLabel;
  readonly address: string;
  readonly family: Family;
  readonly port: number;
  readonly asn: number;
  readonly localAsn: number;
  /** iBGP: asn === localAsn */
  readonly internal: boolean;
  /** wren never connects, only accepts */
  readonly passive: boolean;
  readonly routeReflectorClient: boolean;
  /** set on route-reflector clients: the CLUSTER_ID used when reflecting (RFC 4456 §7) */
  readonly clusterId?: string;
  readonly password?: string;
  readonly ttlSecurityHops?: number;
  /** local address to bind; absent = the kernel chooses */
  readonly sourceAddress?: string;
  readonly nextHop: NextHopMode;
  readonly maxPrefix?: MaxPrefixConfig;
  readonly addPath: AddPathMode;
  readonly gracefulRestart: { readonly enabled: boolean; readonly restartTimeSec: number };
  readonly holdTimeSec: number;
  readonly keepaliveSec: number;
  readonly connectRetrySec: number;
  readonly connectDelaySec: number;
  readonly errorWaitMinSec: number;
  readonly errorWaitMaxSec: number;
  readonly allowLocalAs: number;
  /** RFC 4271 §6.3: eBGP UPDATEs must start their AS_PATH with the peer's AS (off for route servers) */
  readonly enforceFirstAs: boolean;
  readonly reachableBy?: string;
  readonly enabled: boolean;
}

export function protocolName(kind: NeighborKind, address: string, port?: number): string {
  return `${NAME_PREFIX[kind]}${address.replace(/[.:]/g, '_')}${port === undefined ? '' : `_port_${port}`}`;
}

/**
 * Calico's unidirectional mesh rule (calico.md §1.3): a node emits `passive on` for a peer
 * "only if peerIP > myIP (STRING comparison!)" — Go string comparison of the textual addresses,
 * so "10.0.0.9" > "10.0.0.10". Of every pair exactly one side is passive: the node whose peer
 * has the greater address waits, the node with the greater address connects. wren must use the
 * same comparison to interoperate with BIRD nodes (else both sides wait, or both connect).
 * JavaScript's `>` on strings compares UTF-16 code units, which for ASCII addresses is Go's bytewise order.
 */
export function calicoPassive(ownAddress: string, peerAddress: string): boolean {
  return peerAddress > ownAddress;
}

function ownAddressFor(config: Config, family: Family): string | undefined {
  return family === 'ipv4' ? config.nodeAddress.address : config.nodeAddressV6?.address;
}

/** RFC 4271 §8.2.1 / IANA: the BGP port. */
export const BGP_PORT = 179;

const cache = new WeakMap<Config, readonly Neighbor[]>();

/**
 * One entry per BGP session this node should run: mesh peers first (in mesh.nodes order), then
 * explicit peers (in file order). Frozen; memoised per Config.
 */
export function neighbors(config: Config): readonly Neighbor[] {
  const hit = cache.get(config);
  if (hit !== undefined) return hit;
  const out = Object.freeze([...meshNeighbors(config), ...config.peers.map((p) => peerNeighbor(config, p))].map((n) => Object.freeze(n)));
  cache.set(config, out);
  return out;
}

/** Whether the node-to-node mesh is in effect: enabled, and this node is not a route reflector (calico.md §1.3, §1.5). */
export function meshActive(config: Config): boolean {
  return config.mesh.enabled && config.routeReflector === undefined;
}

function timers(config: Config): Pick<
  Neighbor,
  'holdTimeSec' | 'keepaliveSec' | 'connectRetrySec' | 'connectDelaySec' | 'errorWaitMinSec' | 'errorWaitMaxSec'
> {
  const t = config.timers;
  return {
    holdTimeSec: t.holdTimeSec,
    keepaliveSec: t.keepaliveSec,
    connectRetrySec: t.connectRetrySec,
    connectDelaySec: t.connectDelaySec,
    errorWaitMinSec: t.errorWaitMinSec,
    errorWaitMaxSec: t.errorWaitMaxSec,
  };
}

function meshNeighbors(config: Config): Neighbor[] {
  if (!meshActive(config)) return [];
  const out: Neighbor[] = [];
  for (const node of config.mesh.nodes) {
    const own = ownAddressFor(config, node.family);
    // Own entry: the list is shared by all nodes. No address of that family here: Calico
    // renders "IPv6 disabled on this node" and runs no sessions of that family (calico.md §1.9).
    // Route reflectors are not meshed with (calico.md §1.5).
    if (own === undefined || node.address === own || node.routeReflector) continue;
    out.push(meshNeighbor(config, node, own));
  }
  return out;
}

function meshNeighbor(config: Config, node: MeshNodeConfig, own: string): Neighbor {
  const asn = node.asn ?? config.asn;
  return {
    name: protocolName('mesh', node.address),
    kind: 'mesh',
    peerType: PEER_TYPE_LABELS.mesh,
    address: node.address,
    family: node.family,
    port: node.port ?? config.listen.port,
    asn,
    localAsn: config.asn,
    internal: asn === config.asn,
    passive: calicoPassive(own, node.address),
    routeReflectorClient: false,
    ...(config.mesh.password === undefined ? {} : { password: config.mesh.password }),
    sourceAddress: own,
    nextHop: 'auto',
    addPath: 'both',
    gracefulRestart: {
      enabled: config.gracefulRestart.enabled,
      restartTimeSec: config.mesh.restartTimeSec ?? config.gracefulRestart.restartTimeSec,
    },
    ...timers(config),
    allowLocalAs: 0,
    enforceFirstAs: true,
    enabled: true,
  };
}

function peerNeighbor(config: Config, peer: PeerConfig): Neighbor {
  const own = ownAddressFor(config, peer.family);
  const meshNode = config.mesh.nodes.find((n) => n.address === peer.address);
  const localAsn = peer.localAsn ?? config.asn;
  const kind: NeighborKind = peer.scope === 'node' ? 'node' : 'global';
  // calico.md §1.4: a global peer that is a Calico node gets `passive on` when its address is
  // greater; node-specific peers never get automatic passive. mesh.nodes is our list of Calico nodes.
  const autoPassive = kind === 'global' && meshNode !== undefined && own !== undefined && calicoPassive(own, peer.address);
  const source = peer.sourceAddress === 'none' ? undefined : (peer.sourceAddress ?? own);
  const t = timers(config);
  const holdTimeSec = peer.holdTimeSec ?? t.holdTimeSec;
  // Same rule as load.ts: a peer's own hold without its own keepalive gets a third of that hold.
  const keepaliveSec = peer.keepaliveSec ?? (peer.holdTimeSec === undefined ? t.keepaliveSec : Math.floor(peer.holdTimeSec / 3));
  return {
    name: protocolName(kind, peer.address, peer.port),
    kind,
    peerType: PEER_TYPE_LABELS[kind],
    address: peer.address,
    family: peer.family,
    // calico.md §1.4: without a port, a Calico node is reached on its listen port; others on 179.
    port: peer.port ?? (meshNode === undefined ? BGP_PORT : (meshNode.port ?? config.listen.port)),
    asn: peer.asn,
    localAsn,
    internal: peer.asn === localAsn,
    passive: peer.passive ?? autoPassive,
    routeReflectorClient: peer.routeReflectorClient,
    ...(peer.routeReflectorClient && config.routeReflector !== undefined ? { clusterId: config.routeReflector.clusterId } : {}),
    ...(peer.password === undefined ? {} : { password: peer.password }),
    ...(peer.ttlSecurityHops === undefined ? {} : { ttlSecurityHops: peer.ttlSecurityHops }),
    ...(source === undefined ? {} : { sourceAddress: source }),
    nextHop: peer.nextHop,
    ...(peer.maxPrefix === undefined ? {} : { maxPrefix: peer.maxPrefix }),
    addPath: peer.addPath,
    gracefulRestart: {
      enabled: peer.gracefulRestart?.enabled ?? config.gracefulRestart.enabled,
      restartTimeSec: peer.gracefulRestart?.restartTimeSec ?? config.gracefulRestart.restartTimeSec,
    },
    ...t,
    holdTimeSec,
    keepaliveSec,
    allowLocalAs: peer.allowLocalAs,
    enforceFirstAs: peer.enforceFirstAs,
    ...(peer.reachableBy === undefined ? {} : { reachableBy: peer.reachableBy }),
    enabled: peer.enabled,
  };
}
