// config/ — YAML text to a validated, deep-frozen Config; the effective neighbour list; and a
// pure diff between two Configs for reloads.
//
// Owns: the config grammar (grammar.ts, also the source of contrib/bgpd.schema.json), every
// validation rule with file:line:col errors, Calico's naming and passive rules for sessions.
// Must not import: node:fs, node:net, node:timers, pino, netlink, src/ — the file is read by
// src/, which passes the text and its name in. Allowed: yaml, ip-address.
// Deviations from BIRD/Calico, on purpose: keepalive >= hold is an error (BIRD accepts it);
// passive and keepalive changes do not reset a session; max-prefix / next-hop / rr-client
// changes re-run export instead of resetting (diff.ts, PEER_FIELD_EFFECTS).

export type {
  Config,
  ControlConfig,
  Endpoint,
  Family,
  GracefulRestartConfig,
  KernelConfig,
  MaxPrefixConfig,
  MeshConfig,
  MeshNodeConfig,
  NodeAddress,
  PeerConfig,
  PeerGracefulRestartConfig,
  PoolConfig,
  Prefix,
  TimersConfig,
  LogLevel,
  EncapMode,
  ClusterRouteMode,
  PeerScope,
  NextHopMode,
  AddPathMode,
  MaxPrefixAction,
} from './types.js';
export {
  LOG_LEVELS,
  ENCAP_MODES,
  CLUSTER_ROUTE_MODES,
  PEER_SCOPES,
  NEXT_HOP_MODES,
  ADD_PATH_MODES,
  MAX_PREFIX_ACTIONS,
} from './types.js';
export { CONFIG_ERROR_CODE, formatConfigError, type ConfigError } from './errors.js';
export { loadConfig, type LoadResult } from './load.js';
export { configJsonSchema } from './grammar.js';
export {
  neighbors,
  meshActive,
  calicoPassive,
  protocolName,
  BGP_PORT,
  PEER_TYPE_LABELS,
  type Neighbor,
  type NeighborKind,
  type PeerTypeLabel,
} from './neighbors.js';
export {
  diffConfig,
  PEER_FIELD_EFFECTS,
  REFRESH_FIELDS,
  RESET_FIELDS,
  type ConfigChange,
  type ConfigChangeType,
  type FieldEffect,
  type NeighborField,
} from './diff.js';
