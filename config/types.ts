// The validated, normalised configuration. Every value here has passed the checks in load.ts,
// defaults are applied, addresses are in canonical text form, durations carry their unit in the
// name, and the whole object is deep-frozen: the daemon may share it freely and diff old against new.

export type Family = 'ipv4' | 'ipv6';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Calico IPPool ipipMode / vxlanMode values, spelt as in the IPPool resource. */
export const ENCAP_MODES = ['Always', 'CrossSubnet', 'Never'] as const;
export type EncapMode = (typeof ENCAP_MODES)[number];

/** Calico BGPConfiguration.programClusterRoutes (calico.md §0, §4): which pool routes wren writes. */
export const CLUSTER_ROUTE_MODES = ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] as const;
export type ClusterRouteMode = (typeof CLUSTER_ROUTE_MODES)[number];

export const PEER_SCOPES = ['global', 'node'] as const;
export type PeerScope = (typeof PEER_SCOPES)[number];

/** BGPPeer.nextHopMode (calico.md §1.4): auto = RFC 4271 §5.1.3 defaults, self / keep force it. */
export const NEXT_HOP_MODES = ['auto', 'self', 'keep'] as const;
export type NextHopMode = (typeof NEXT_HOP_MODES)[number];

/** RFC 7911 ADD-PATH Send/Receive as advertised in OPEN; Calico's template has `add paths on` (both). */
export const ADD_PATH_MODES = ['off', 'rx', 'tx', 'both'] as const;
export type AddPathMode = (typeof ADD_PATH_MODES)[number];

export const MAX_PREFIX_ACTIONS = ['warn', 'restart'] as const;
export type MaxPrefixAction = (typeof MAX_PREFIX_ACTIONS)[number];

export interface Prefix {
  readonly family: Family;
  /** canonical `network/length` */
  readonly cidr: string;
  readonly length: number;
}

/** An interface address: the address itself plus the subnet it sits in (Node.spec.bgp.ipv4Address). */
export interface NodeAddress {
  readonly address: string;
  readonly prefixLength: number;
  /** the subnet, `10.160.105.0/24`: IPIP CrossSubnet compares BGP next hops against it (calico.md §1.7) */
  readonly network: string;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface ControlConfig {
  readonly socket: string;
  readonly birdSocket?: string;
  /** BIRD-compatible socket for the IPv6 sessions (calico's bird6.ctl) */
  readonly bird6Socket?: string;
  readonly readOnlySocket?: string;
  readonly socketGroup?: string;
  /** permission bits of `socket` and `bird-socket`; the read-only socket is always 0666 */
  readonly socketMode: number;
}

export interface TimersConfig {
  readonly holdTimeSec: number;
  readonly keepaliveSec: number;
  readonly connectRetrySec: number;
  readonly connectDelaySec: number;
  /** BIRD `error wait time MIN,MAX`: back-off after a session error, doubling from min to max */
  readonly errorWaitMinSec: number;
  readonly errorWaitMaxSec: number;
}

export interface GracefulRestartConfig {
  readonly enabled: boolean;
  readonly restartTimeSec: number;
  /** upper bound on keeping a restarting peer's stale routes after it reconnects, waiting for End-of-RIB */
  readonly staleTimeSec?: number;
  /** after our own restart: longest wait for End-of-RIB from all peers before pruning kernel routes */
  readonly waitSec: number;
}

export interface KernelConfig {
  readonly program: boolean;
  readonly table: number;
  readonly protocol: number;
  readonly tunnelDevice: string;
  readonly persist: boolean;
  readonly device?: string;
  readonly programClusterRoutes: ClusterRouteMode;
}

export interface PoolConfig {
  readonly cidr: Prefix;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
  readonly disableBgpExport: boolean;
}

export interface MeshNodeConfig {
  readonly address: string;
  readonly family: Family;
  /** that node's AS; absent = this node's `asn` (calico.md §1.1 as_num fallback) */
  readonly asn?: number;
  /** that node's BGP listen port; absent = `listen.port` (calico.md §1.3 peer port) */
  readonly port?: number;
  /** the node is a route reflector: left out of the mesh (calico.md §1.5) */
  readonly routeReflector: boolean;
}

export interface MeshConfig {
  readonly enabled: boolean;
  readonly password?: string;
  readonly restartTimeSec?: number;
  readonly nodes: readonly MeshNodeConfig[];
}

export interface MaxPrefixConfig {
  readonly limit: number;
  readonly action: MaxPrefixAction;
}

export interface PeerGracefulRestartConfig {
  readonly enabled?: boolean;
  readonly restartTimeSec?: number;
}

export interface PeerConfig {
  readonly address: string;
  readonly family: Family;
  readonly asn: number;
  readonly localAsn?: number;
  readonly scope: PeerScope;
  readonly routeReflectorClient: boolean;
  /** absent = Calico's automatic rule (see neighbors.ts) */
  readonly passive?: boolean;
  readonly password?: string;
  readonly ttlSecurityHops?: number;
  readonly maxPrefix?: MaxPrefixConfig;
  readonly nextHop: NextHopMode;
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  /** absent = the node address of the peer's family; `none` = let the kernel choose */
  readonly sourceAddress?: string | 'none';
  /** absent = the peer node's listen port if it is a mesh node, else 179; when set, it is part of the name */
  readonly port?: number;
  readonly addPath: AddPathMode;
  readonly gracefulRestart?: PeerGracefulRestartConfig;
  readonly allowLocalAs: number;
  /** RFC 4271 §6.3 first-AS check on this peer's UPDATEs (eBGP only) */
  readonly enforceFirstAs: boolean;
  readonly reachableBy?: string;
  readonly enabled: boolean;
}

export interface Config {
  readonly routerId: string;
  /** true when `router-id` was not given and follows node-address */
  readonly routerIdFromNodeAddress: boolean;
  readonly asn: number;
  readonly nodeAddress: NodeAddress;
  readonly nodeAddressV6?: NodeAddress;
  readonly listen: Endpoint;
  readonly control: ControlConfig;
  readonly log: { readonly level: LogLevel };
  readonly timers: TimersConfig;
  readonly gracefulRestart: GracefulRestartConfig;
  readonly kernel: KernelConfig;
  readonly blocks: readonly Prefix[];
  readonly pools: readonly PoolConfig[];
  readonly mesh: MeshConfig;
  readonly peers: readonly PeerConfig[];
  readonly routeReflector?: { readonly clusterId: string };
  readonly metrics: { readonly listen?: Endpoint };
}

export type { ConfigError } from './errors.js';
