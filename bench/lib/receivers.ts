/**
 * The receivers under test, each in its own lab host: start with "accept all, export nothing"
 * towards the feeder, the pids to measure, and the cheapest accurate "routes held" counter.
 *
 * Counters (what "holds all N" means for each):
 *  - wren: Adj-RIB-In candidates == N and the decision queue empty, from bgpd's own `stats` log
 *    line (WREN_STATS_INTERVAL_MS=100; O(1) per line, nothing is asked of bgpd).
 *  - BIRD 2 / 1.6: `show protocols all <peer>` "Routes: N imported" (a counter, O(1) in BIRD).
 *  - GoBGP: `gobgp neighbor -j` adj_table.accepted (GoBGP computes it per call; O(routes)).
 *  - FRR: `show bgp summary json` pfxRcd (a counter, O(1) in bgpd; vtysh costs a few ms).
 * Routes are only exported back to the peer they came from, which none of the daemons does
 * (BIRD's bgp_preexport, FRR's and GoBGP's split horizon, wren's export), so with one peer
 * nothing is exported.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Host } from '../../test/lab/lib/lab.js';
import { Bird1Speaker, Bird2Speaker } from '../../test/lab/lib/bird.js';
import { GobgpSpeaker } from '../../test/lab/lib/gobgp.js';
import { FrrSpeaker } from '../../test/lab/lib/frr.js';
import { WrenSpeaker } from '../../test/lab/lib/wren.js';
import { birdProtocolName } from '../../test/lab/lib/bird.js';
import type { NeighborConfig, Speaker, SpeakerConfig } from '../../test/lab/lib/speaker.js';

export type ReceiverKind = 'wren' | 'bird2' | 'bird1' | 'frr' | 'gobgp';
export const ALL_RECEIVERS: readonly ReceiverKind[] = ['wren', 'bird2', 'bird1', 'frr', 'gobgp'];

export const RECEIVER_LABEL: Record<ReceiverKind, string> = {
  wren: 'wren',
  bird2: 'BIRD 2',
  bird1: 'BIRD 1.6',
  frr: 'FRR',
  gobgp: 'GoBGP',
};

/** rtnetlink protocol each daemon installs routes with. */
export const KERNEL_PROTO: Record<ReceiverKind, number> = { wren: 12, bird2: 12, bird1: 12, frr: 186, gobgp: 0 };

export interface WrenStats {
  readonly rib: { readonly prefixes: number; readonly candidates: number; readonly attrSets: number; readonly queued: number };
  readonly rss: number;
  readonly heapUsed: number;
  readonly eventLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly meanMs: number; readonly samples: number };
  /** The interval since the previous stats line. */
  readonly eventLoopInterval?: { readonly p99Ms: number; readonly maxMs: number };
  readonly time: string;
}

export interface IntervalDelay {
  readonly atMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Reads bgpd's JSON log incrementally and keeps the last `stats` line. */
export class WrenLogTail {
  private offset = 0;
  private partial = '';
  last: WrenStats | null = null;
  /** Event-loop delay of every stats interval, in order. */
  readonly intervals: IntervalDelay[] = [];
  /** FSM transitions away from Established seen in the log. */
  readonly sessionLosses: string[] = [];
  constructor(readonly path: string) {}

  poll(): WrenStats | null {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return this.last;
    }
    try {
      const size = fstatSync(fd).size;
      if (size > this.offset) {
        const buf = Buffer.allocUnsafe(size - this.offset);
        readSync(fd, buf, 0, buf.length, this.offset);
        this.offset = size;
        const text = this.partial + buf.toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const l of lines) {
          if (l.includes('"event":"stats"')) {
            try {
              const st = JSON.parse(l) as WrenStats;
              this.last = st;
              if (st.eventLoopInterval !== undefined) this.intervals.push({ atMs: Date.parse(st.time), ...st.eventLoopInterval });
            } catch {
              // a torn line: skip
            }
          } else if (l.includes('"event":"fsm.transition"') && l.includes('"from":"Established"')) {
            this.sessionLosses.push(l);
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return this.last;
  }

  /**
   * Event-loop delay over a time window, from the intervals ending in it (plus one stats period):
   * max is exact; p99 is the largest interval p99 (an upper bound of the window's p99).
   */
  window(startMs: number, endMs: number): { p99Ms: number; maxMs: number } | null {
    this.poll();
    const xs = this.intervals.filter((x) => x.atMs > startMs && x.atMs <= endMs + 250);
    if (xs.length === 0) return null;
    return { p99Ms: Math.max(...xs.map((x) => x.p99Ms)), maxMs: Math.max(...xs.map((x) => x.maxMs)) };
  }
}

export interface Receiver {
  readonly kind: ReceiverKind;
  readonly speaker: Speaker;
  start(): Promise<void>;
  /** Processes whose CPU and RSS count. */
  pids(): number[];
  /** Routes held from the feeder (see the module comment). */
  count(): Promise<number>;
  /** Extra completion condition: wren's decision queue drained. */
  settled?(): boolean;
  /** Is the feeder's session still Established? */
  established(): Promise<boolean>;
  wrenLog?: WrenLogTail;
}

const pidFrom = (file: string): number => {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return 0;
  }
};

type O = Record<string, unknown>;
const isObj = (v: unknown): v is O => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Find a numeric key anywhere in parsed JSON (GoBGP's field names vary between versions). */
function findNumber(v: unknown, key: string): number | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = findNumber(x, key);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (!isObj(v)) return undefined;
  const d = v[key];
  if (typeof d === 'number') return d;
  for (const x of Object.values(v)) {
    const r = findNumber(x, key);
    if (r !== undefined) return r;
  }
  return undefined;
}

export interface ReceiverSetup {
  readonly host: Host;
  readonly address: string;
  readonly localAs: number;
  readonly neighbors: readonly NeighborConfig[];
  readonly kernel?: boolean;
  readonly clusterId?: string;
  /** The neighbor whose route count `count()` reports. */
  readonly countPeer: string;
}

export function makeReceiver(kind: ReceiverKind, s: ReceiverSetup): Receiver {
  const cfg: SpeakerConfig = {
    routerId: s.address,
    localAs: s.localAs,
    neighbors: s.neighbors,
    ...(s.kernel === true ? { kernel: true } : {}),
    ...(s.clusterId === undefined ? {} : { clusterId: s.clusterId }),
  };
  const peer = s.countPeer;
  switch (kind) {
    case 'wren': {
      const sp = new WrenSpeaker(s.host, cfg, { logLevel: 'info', nodeAddress: `${s.address}/16` });
      let tail: WrenLogTail | undefined;
      const r: Receiver = {
        kind,
        speaker: sp,
        async start() {
          await sp.start();
          tail = new WrenLogTail(sp.process!.stdoutPath);
          r.wrenLog = tail;
        },
        pids: () => [sp.process?.pid ?? 0],
        count: () => Promise.resolve(tail?.poll()?.rib.candidates ?? 0),
        settled: () => (tail?.last?.rib.queued ?? 1) === 0,
        async established() {
          return (await sp.peerState(peer)).state === 'Established';
        },
      };
      return r;
    }
    case 'bird2':
    case 'bird1': {
      const sp = kind === 'bird2' ? new Bird2Speaker(s.host, cfg) : new Bird1Speaker(s.host, cfg);
      const proto = birdProtocolName(peer);
      const pidFile = join(s.host.dir, kind === 'bird2' ? 'bird2.pid' : 'bird1v4.pid');
      return {
        kind,
        speaker: sp,
        start: () => sp.start(),
        pids: () => [pidFrom(pidFile)],
        async count() {
          const out = await sp.cli(`show protocols all ${proto}`);
          const m = /Routes:\s+(\d+) imported/.exec(out);
          return m === null ? 0 : Number(m[1]);
        },
        async established() {
          return (await sp.peerState(peer)).state === 'Established';
        },
      };
    }
    case 'gobgp': {
      const sp = new GobgpSpeaker(s.host, cfg);
      return {
        kind,
        speaker: sp,
        start: () => sp.start(),
        pids: () => [sp.process?.pid ?? 0],
        async count() {
          const parsed: unknown = JSON.parse(await sp.gobgp(['neighbor', '-j']));
          return findNumber(parsed, 'accepted') ?? 0;
        },
        async established() {
          return (await sp.peerState(peer)).state === 'Established';
        },
      };
    }
    case 'frr': {
      const sp = new FrrSpeaker(s.host, cfg);
      return {
        kind,
        speaker: sp,
        start: () => sp.start(),
        pids: () => [pidFrom(join(sp.dir, 'bgpd.pid')), pidFrom(join(sp.dir, 'zebra.pid'))],
        async count() {
          const parsed: unknown = JSON.parse(await sp.vtysh(['show bgp ipv4 unicast summary json']));
          const peers = isObj(parsed) ? (isObj(parsed['peers']) ? parsed['peers'] : isObj(parsed['ipv4Unicast']) ? parsed['ipv4Unicast']['peers'] : undefined) : undefined;
          const p = isObj(peers) ? peers[peer] : undefined;
          const n = isObj(p) ? p['pfxRcd'] : undefined;
          return typeof n === 'number' ? n : 0;
        },
        async established() {
          return (await sp.peerState(peer)).state === 'Established';
        },
      };
    }
  }
}
