/**
 * src/kernel: applies the RIB's kernel-route intent to the Linux FIB over rtnetlink.
 * Owns: the netlink route/link codec, the Fib boundary (real and fake), and KernelSync
 * (desired-state reconciliation, retries, repair, restart adoption, persist on stop).
 * Imports proto/ prefix helpers and rib/ intent types only; logs through a minimal logger
 * interface so pino stays in the daemon wiring.
 */
export { KernelSync } from './sync.js';
export type { KernelEntryState, KernelEntryStatus, KernelLogger, KernelSyncEvent, KernelSyncOptions, KernelSyncStatus, RepairReason } from './sync.js';
export { NetlinkFib } from './netlink-fib.js';
export type { NetlinkFibOptions } from './netlink-fib.js';
export { FakeFib } from './fake-fib.js';
export type { FakeFibOptions } from './fake-fib.js';
export { FIB_OK, defaultPriority, fibError, fibRouteMatches } from './fib.js';
export type { Fib, FibEvent, FibNextHop, FibResult, FibRoute, FibWrite } from './fib.js';
export { RTPROT_BIRD, RT_TABLE_MAIN } from './constants.js';
