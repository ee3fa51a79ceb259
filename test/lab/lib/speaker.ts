// What every real BGP peer in the lab (BIRD 2, BIRD 1.6, GoBGP, FRR) has in common: one config
// shape, one normalised view of session state and routes, and the waits built on them.
import type { Host } from './lab.js';
import { waitFor } from './wait.js';

export type PeerState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export const PEER_STATES: readonly PeerState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

/** Map a daemon's state word (any case) to a PeerState; unknown words (Close, Clearing...) are Idle. */
export function normaliseState(word: string): PeerState {
  const w = word.trim().toLowerCase();
  return PEER_STATES.find((s) => s.toLowerCase() === w) ?? 'Idle';
}

export interface PeerStatus {
  readonly state: PeerState;
  /** The daemon's own text or JSON for this neighbor. */
  readonly raw: string;
  /** The last error the daemon reports for the session, if it shows one. */
  readonly lastError?: string;
}

export interface ReceivedRoute {
  readonly prefix: string;
  readonly nextHop?: string;
  /** AS numbers of the AS_PATH, in order (sets flattened). */
  readonly asPath: readonly number[];
  readonly localPref?: number;
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  /** The daemon picked it as best. */
  readonly best: boolean;
  /** The neighbor it came from, where the daemon says. */
  readonly fromPeer?: string;
  /** True for a route this speaker originated itself (not learned from a peer). */
  readonly local: boolean;
  /** The daemon's text or JSON for this route. */
  readonly raw: string;
}

export type AddPathMode = 'rx' | 'tx' | 'both';

export interface NeighborConfig {
  readonly address: string;
  readonly remoteAs: number;
  /** Wait for the peer to connect; never connect out. */
  readonly passive?: boolean;
  /** Seconds; default 6 (short for tests). */
  readonly holdTime?: number;
  /** Seconds; default holdTime / 3. */
  readonly keepalive?: number;
  /** Seconds; default 1. */
  readonly connectRetry?: number;
  readonly routeReflectorClient?: boolean;
  /** Graceful restart (RFC 4724) capability; default: the daemon's default. */
  readonly gracefulRestart?: boolean;
  /** Seconds, advertised in the GR capability. */
  readonly restartTime?: number;
  readonly addPath?: AddPathMode;
  /** TCP MD5 password. */
  readonly password?: string;
  /**
   * GTSM (RFC 5082): send TTL 255, accept only packets from at most this many hops (1 = direct).
   * wren: `ttl-security: N`; BIRD: `ttl security on` (hops from `multihop`, else 1).
   */
  readonly ttlSecurity?: number;
  /** BIRD: `multihop N` (an eBGP neighbor that is not directly connected). */
  readonly multihop?: number;
  /** Source address of the session (default: the speaker's listen address of that family, if any). */
  readonly localAddress?: string;
  /** Set this speaker's own address as next hop on routes sent to this neighbor. */
  readonly nextHopSelf?: boolean;
}

export interface SpeakerConfig {
  readonly routerId: string;
  readonly localAs: number;
  /** Address to listen on / source sessions from (default: all addresses). */
  readonly listenAddress?: string;
  readonly neighbors: readonly NeighborConfig[];
  /** Prefixes this speaker originates (blackhole statics exported to BGP). */
  readonly originate?: readonly string[];
  /** Route reflector cluster id (default: router id) for speakers with RR clients. */
  readonly clusterId?: string;
  /** Install learned routes in the namespace's kernel table (BIRD kernel protocol / FRR zebra). */
  readonly kernel?: boolean;
  /** Raw text appended to the generated config (daemon syntax), for one-off needs. */
  readonly extraConfig?: string;
}

export type SpeakerKind = 'bird2' | 'bird1' | 'gobgp' | 'frr' | 'wren';

export const DEFAULT_HOLD = 6;
export const DEFAULT_CONNECT_RETRY = 1;

export function holdOf(n: NeighborConfig): number {
  return n.holdTime ?? DEFAULT_HOLD;
}

export function keepaliveOf(n: NeighborConfig): number {
  return n.keepalive ?? Math.max(1, Math.floor(holdOf(n) / 3));
}

export function isV6(addr: string): boolean {
  return addr.includes(':');
}

/** Source address for a neighbor: its own, else the listen address when of the same family. */
export function localAddressFor(cfg: SpeakerConfig, n: NeighborConfig): string | undefined {
  if (n.localAddress !== undefined) return n.localAddress;
  if (cfg.listenAddress !== undefined && isV6(cfg.listenAddress) === isV6(n.address)) return cfg.listenAddress;
  return undefined;
}

/** Canonical text of an IP address, so "fd00:0::1" and "fd00::1" compare equal. */
export function sameAddress(a: string, b: string): boolean {
  return canonicalIp(a) === canonicalIp(b);
}

export function canonicalIp(a: string): string {
  if (!isV6(a)) return a.trim();
  const [head = '', tail = ''] = a.trim().toLowerCase().split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const fill = a.includes('::') ? new Array<string>(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

export interface WaitRouteOptions {
  readonly timeoutMs?: number;
  /** Extra condition on the routes found (default: at least one). */
  readonly match?: (r: ReceivedRoute) => boolean;
}

/** The common surface of every lab BGP speaker. */
export abstract class Speaker {
  abstract readonly kind: SpeakerKind;
  protected originated: string[];

  constructor(
    readonly host: Host,
    readonly config: SpeakerConfig,
  ) {
    this.originated = [...(config.originate ?? [])];
  }

  /** Start the daemon(s) and wait until their CLI answers. */
  abstract start(): Promise<void>;
  /** Graceful stop (SIGTERM, SIGKILL after a grace period). */
  abstract stop(): Promise<void>;
  /** SIGKILL: a crash, as the peer sees it (no NOTIFICATION). */
  abstract kill(): Promise<void>;
  /** State of the session with the neighbor at `address`. */
  abstract peerState(address: string): Promise<PeerStatus>;
  /** Routes for exactly `prefix` in the speaker's RIB (all paths, not only the best). */
  abstract routes(prefix: string): Promise<ReceivedRoute[]>;
  /** Run one CLI command and return its output (birdc / gobgp / vtysh syntax). */
  abstract cli(command: string): Promise<string>;
  /** The daemon's log text so far. */
  abstract logs(): string;
  /** Start originating a prefix (at run time). */
  abstract announce(prefix: string): Promise<void>;
  /** Stop originating a prefix. */
  abstract withdraw(prefix: string): Promise<void>;

  /** Wait until the session with `address` is in `state` (default Established). */
  async waitForState(address: string, state: PeerState = 'Established', timeoutMs = 30_000): Promise<PeerStatus> {
    let last: PeerStatus | undefined;
    try {
      return await waitFor(
        async () => {
          last = await this.peerState(address);
          return last.state === state ? last : undefined;
        },
        { timeoutMs, intervalMs: 250, what: `${this.kind} on ${this.host.name}: session with ${address} ${state}` },
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\nlast state: ${last?.state ?? '?'} ${last?.lastError ?? ''}\n${last?.raw ?? ''}\n--- log tail:\n${this.logs().slice(-3000)}`,
      );
    }
  }

  /** Wait until `prefix` is in the RIB (and `match` holds for one of its routes); returns the routes. */
  async waitForRoute(prefix: string, opts: WaitRouteOptions = {}): Promise<ReceivedRoute[]> {
    const match = opts.match ?? (() => true);
    return waitFor(
      async () => {
        const rs = await this.routes(prefix);
        return rs.some(match) ? rs : undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 250, what: `${this.kind} on ${this.host.name}: route ${prefix}` },
    );
  }

  /** Wait until no learned route for `prefix` is left (the speaker's own origination does not count). */
  async waitForNoRoute(prefix: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => (await this.routes(prefix)).every((r) => r.local), {
      timeoutMs,
      what: `${this.kind} on ${this.host.name}: no learned route ${prefix}`,
    });
  }
}
