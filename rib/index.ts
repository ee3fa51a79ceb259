/**
 * rib/ — the routing information bases, pure.
 *
 * Owns: interned attribute sets (attrs.ts), compact Adj-RIB-In / Loc-RIB / Adj-RIB-Out storage
 * (tables.ts, rib.ts), the decision process (decision.ts), Calico export policy and RFC 4271 §5.1 /
 * RFC 4456 §8 attribute rewriting (policy.ts), kernel route intent (kernel-intent.ts), graceful
 * restart (RFC 4724, both roles) and route refresh (RFC 2918 / RFC 7313) state.
 * Must not import: node:net, node:fs, node:timers, netlink, pino, src/. Time is an argument.
 *
 * Deviations, on purpose:
 * - Locally originated routes beat BGP-learned ones before LOCAL_PREF (BIRD preference 200 > 100).
 * - CLUSTER_LIST length is compared after the router id (RFC 4456 §9 text); BIRD/FRR order is an option.
 * - ADD-PATH send path ids are (source peer index << 16 | source path id & 0xffff): stable per
 *   source path, but two source path ids equal modulo 65536 from one peer for one prefix collide.
 * - AS_PATH must arrive already merged with AS4_PATH (RFC 6793 §4.2.3), by the session driver.
 */
export * from './attrs.js';
export * from './decision.js';
export * from './policy.js';
export * from './kernel-intent.js';
export type * from './kernel-types.js';
export type * from './messages.js';
export { Rib } from './rib.js';
export type { RibOptions, RibStats, RouteExplanation } from './rib.js';
