/**
 * The read model the control sockets (bgpctl JSON and the BIRD-compatible socket) render. The
 * daemon builds these snapshots from the sessions, the RIB and the kernel sync; the renderers
 * never reach into live state, so output is testable from plain values.
 */

export type SessionStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** Calico's peer types, as calicoctl prints them. */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

export interface NeighborStatus {
  /** Calico protocol name: Mesh_10_160_105_7, Global_..., Node_... */
  readonly name: string;
  readonly address: string;
  readonly afi: 'ipv4' | 'ipv6';
  readonly peerType: PeerType;
  readonly localAs: number;
  readonly peerAs: number;
  readonly state: SessionStateName;
  /** False when disabled by `bgpctl neighbor X disable` / birdc `disable`. */
  readonly enabled: boolean;
  /** Epoch milliseconds of the last state change (BIRD's "since"). */
  readonly sinceMs: number;
  /** Last error in BIRD's wording ("Socket: Connection refused", "Received: Bad peer AS", ...), or ''. */
  readonly lastError: string;
  readonly routeReflectorClient: boolean;
  readonly passive: boolean;
  readonly sourceAddress: string | null;
  readonly neighborId: string | null;
  readonly holdTimeSec: number | null;
  readonly keepaliveSec: number | null;
  /** Remaining seconds on the running hold / keepalive timers, when Established. */
  readonly holdTimerRemainingSec: number | null;
  readonly keepaliveTimerRemainingSec: number | null;
  readonly capabilities: {
    readonly local: readonly string[];
    readonly peer: readonly string[];
    readonly negotiated: readonly string[];
  };
  readonly gracefulRestart: { readonly negotiated: boolean; readonly restartTimeSec: number | null; readonly state: 'none' | 'helper-stale' | 'restarting' };
  readonly routes: { readonly imported: number; readonly exported: number; readonly preferred: number; readonly filtered: number };
  readonly messages: {
    readonly in: { readonly open: number; readonly update: number; readonly notification: number; readonly keepalive: number; readonly routeRefresh: number; readonly bytes: number };
    readonly out: { readonly open: number; readonly update: number; readonly notification: number; readonly keepalive: number; readonly routeRefresh: number; readonly bytes: number };
  };
  readonly importUpdates: { readonly received: number; readonly rejected: number; readonly filtered: number; readonly ignored: number; readonly accepted: number };
  readonly importWithdraws: { readonly received: number; readonly rejected: number; readonly filtered: number; readonly ignored: number; readonly accepted: number };
  /** UPDATEs treated as withdraw (RFC 7606), and of them first-AS mismatches (RFC 4271 §6.3); absent in old snapshots. */
  readonly updateErrors?: { readonly treatAsWithdraw: number; readonly firstAsMismatch: number };
  /** Export-side counters, BIRD's "Export updates/withdraws" rows (added for the BIRD socket; zeros when absent). */
  readonly exportUpdates?: { readonly received: number; readonly rejected: number; readonly filtered: number; readonly accepted: number };
  readonly exportWithdraws?: { readonly received: number; readonly accepted: number };
}

export interface DaemonStatus {
  readonly version: string;
  readonly routerId: string;
  readonly asn: number;
  readonly startedMs: number;
  readonly nowMs: number;
  readonly configFile: string;
  readonly configLoadedMs: number;
  /** Graceful restart as the restarting speaker: 'running' until End-of-RIB from every peer or timeout. */
  readonly gracefulRestart: {
    readonly state: 'none' | 'running';
    readonly waitingFor: number;
    readonly remainingSec: number | null;
    /** Total length of the recovery wait timer (BIRD's "Wait timer is remaining/total"); 240 when absent. */
    readonly waitTimeSec?: number;
  };
  readonly routesV4: number;
  readonly routesV6: number;
  readonly shuttingDown: boolean;
  /** Event-loop delay since bgpd started, ms (perf_hooks.monitorEventLoopDelay); absent in old snapshots. */
  readonly eventLoop?: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly meanMs: number; readonly samples: number };
}

export interface RoutePath {
  readonly prefix: string;
  readonly best: boolean;
  readonly multipath: boolean;
  /** Protocol name the path came from (Mesh_..., or 'local' / BIRD-style static name for originated blocks). */
  readonly from: string;
  readonly peerAddress: string | null;
  readonly nextHop: string | null;
  readonly asPath: string;
  readonly origin: 'IGP' | 'EGP' | 'Incomplete';
  readonly localPref: number | null;
  readonly med: number | null;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly originatorId: string | null;
  readonly clusterList: readonly string[];
  readonly sinceMs: number;
  readonly stale: boolean;
  /** Why this path won or lost against the best, in words (the decision-process reason). */
  readonly reason: string;
  /** Kernel-facing form: 'blackhole' for local blocks, else 'unicast'. */
  readonly kind: 'blackhole' | 'unicast';
  /** Output interface for the BIRD-style "via X on DEV" line, when known. */
  readonly device: string | null;
}

export interface KernelRouteStatus {
  readonly prefix: string;
  readonly desired: string | null;
  readonly installed: string | null;
  readonly state: 'in-sync' | 'pending' | 'failed' | 'stale';
  readonly error: string | null;
  readonly retries: number;
}

export type RefreshDirection = 'in' | 'out';

/** What the control sockets ask the daemon for, and the actions they may trigger. */
export interface ControlBackend {
  status(): DaemonStatus;
  neighbors(): readonly NeighborStatus[];
  routes(filter?: { readonly prefix?: string; readonly family?: 'ipv4' | 'ipv6' }): readonly RoutePath[];
  kernel(): readonly KernelRouteStatus[];
  memory(): { readonly routingTables: number; readonly routeAttributes: number; readonly protocols: number; readonly total: number };
  /** Re-read and apply the config file; a string array of errors when it is invalid (nothing applied). */
  reload(): Promise<{ readonly ok: true; readonly changes: readonly string[] } | { readonly ok: false; readonly errors: readonly string[] }>;
  /** Validate the config file without applying it. */
  checkConfig(): Promise<{ readonly ok: true } | { readonly ok: false; readonly errors: readonly string[] }>;
  neighborAction(name: string, action: 'enable' | 'disable' | 'reset'): { readonly ok: true; readonly message: string } | { readonly ok: false; readonly error: string };
  /** in: send ROUTE-REFRESH (RFC 2918); out: re-send the Adj-RIB-Out. An error unless Established with Route Refresh. */
  neighborRefresh(name: string, direction: RefreshDirection): { readonly ok: true; readonly message: string } | { readonly ok: false; readonly error: string };
  setLogLevel(level: string): { readonly ok: true } | { readonly ok: false; readonly error: string };
  shutdown(): void;
}
