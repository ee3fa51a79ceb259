// Shared by the control tests: a fake ControlBackend that reproduces the lab nodes of the BIRD
// transcripts, a reader of the transcript files, and a small BIRD-protocol client.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlBackend, DaemonStatus, KernelRouteStatus, NeighborStatus, RefreshDirection, RoutePath } from '../../src/status.js';

export const TRANSCRIPTS = join(process.cwd(), '..', 'shared', 'reference', 'birdc-transcripts');

/** Epoch ms of a wall-clock time on the capture day (tests run with TZ=UTC). */
export function at(hms: string, day = '2026-11-25'): number {
  return Date.parse(`${day}T${hms}Z`);
}

export function tempSocket(name = 'ctl.sock'): string {
  return join(mkdtempSync(join(tmpdir(), 'wren-ctl-')), name);
}

// ---------------------------------------------------------------------------------------------
// Transcripts

export interface Exchange {
  /** null for the greeting. */
  readonly command: string | null;
  readonly reply: string;
}

/** Decodes a Python bytes literal body (what the transcripts print). */
function pyBytes(lit: string): string {
  const q = lit[1];
  const body = lit.slice(2, lit.lastIndexOf(q ?? "'"));
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const n = body[++i];
    if (n === 'n') out += '\n';
    else if (n === 'r') out += '\r';
    else if (n === 't') out += '\t';
    else if (n === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += n ?? '';
  }
  return out;
}

export function readTranscript(file: string): Exchange[] {
  const text = readFileSync(join(TRANSCRIPTS, file), 'utf8');
  const out: Array<{ command: string | null; reply: string }> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('== <greeting>')) out.push({ command: null, reply: '' });
    else if (line.startsWith('C> ')) out.push({ command: pyBytes(line.slice(3)), reply: '' });
    else if (line.startsWith('S< ')) {
      const last = out[out.length - 1];
      if (last !== undefined) last.reply += pyBytes(line.slice(3));
    }
  }
  return out;
}

export function exchange(file: string, command: string | null, nth = 0): Exchange {
  const found = readTranscript(file).filter((e) => e.command === command)[nth];
  if (found === undefined) throw new Error(`${file}: no exchange for ${JSON.stringify(command)}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Fake backend

const ZERO5 = { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 };
const ZERO_MSGS = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0, bytes: 0 };

export function neighbor(address: string, o: Partial<NeighborStatus> = {}): NeighborStatus {
  const v6 = address.includes(':');
  return {
    name: `Mesh_${address.replace(/[.:]/g, '_')}`,
    address,
    afi: v6 ? 'ipv6' : 'ipv4',
    peerType: 'node-to-node mesh',
    localAs: 64512,
    peerAs: 64512,
    state: 'Established',
    enabled: true,
    sinceMs: at('11:36:38'),
    lastError: '',
    routeReflectorClient: false,
    passive: true,
    sourceAddress: '10.160.105.6',
    neighborId: address,
    holdTimeSec: 240,
    keepaliveSec: 80,
    holdTimerRemainingSec: 153,
    keepaliveTimerRemainingSec: 29,
    capabilities: {
      local: ['refresh', 'enhanced-refresh', 'restart-able', 'llgr-aware', 'AS4', 'add-path-rx', 'add-path-tx'],
      peer: ['refresh', 'enhanced-refresh', 'restart-able', 'llgr-aware', 'AS4', 'add-path-rx', 'add-path-tx'],
      negotiated: ['refresh', 'enhanced-refresh', 'restart-able', 'AS4', 'add-path-rx', 'add-path-tx'],
    },
    gracefulRestart: { negotiated: true, restartTimeSec: 120, state: 'none' },
    routes: { imported: 1, exported: 1, preferred: 1, filtered: 0 },
    messages: { in: { ...ZERO_MSGS, open: 1, update: 2, keepalive: 3, bytes: 150 }, out: { ...ZERO_MSGS, open: 1, update: 2, keepalive: 3, bytes: 160 } },
    importUpdates: { ...ZERO5, received: 1, accepted: 1 },
    importWithdraws: ZERO5,
    exportUpdates: { received: 4, rejected: 2, filtered: 1, accepted: 1 },
    exportWithdraws: { received: 0, accepted: 0 },
    ...o,
  };
}

export function route(prefix: string, o: Partial<RoutePath> = {}): RoutePath {
  return {
    prefix,
    best: true,
    multipath: false,
    from: 'local',
    peerAddress: null,
    nextHop: null,
    asPath: '',
    origin: 'IGP',
    localPref: 100,
    med: null,
    communities: [],
    largeCommunities: [],
    originatorId: null,
    clusterList: [],
    sinceMs: at('11:36:36'),
    stale: false,
    reason: 'only path',
    kind: 'unicast',
    device: null,
    ...o,
  };
}

export function bgpRoute(prefix: string, peer: string, o: Partial<RoutePath> = {}): RoutePath {
  return route(prefix, {
    from: `Mesh_${peer.replace(/\./g, '_')}`,
    peerAddress: peer,
    nextHop: peer,
    device: 'eth0',
    sinceMs: at('11:36:38'),
    ...o,
  });
}

export interface Recorded {
  readonly actions: Array<{ name: string; action: string }>;
  readonly levels: string[];
  reloads: number;
  checks: number;
  shutdowns: number;
}

/** A mutable fake daemon. Actions change neighbor state the way the daemon would. */
export class FakeBackend implements ControlBackend {
  statusValue: DaemonStatus;
  neighborList: NeighborStatus[];
  routeList: RoutePath[];
  kernelList: KernelRouteStatus[] = [];
  reloadResult: Awaited<ReturnType<ControlBackend['reload']>> = { ok: true, changes: [] };
  checkResult: Awaited<ReturnType<ControlBackend['checkConfig']>> = { ok: true };
  readonly rec: Recorded = { actions: [], levels: [], reloads: 0, checks: 0, shutdowns: 0 };

  constructor(o: { status?: Partial<DaemonStatus>; neighbors?: NeighborStatus[]; routes?: RoutePath[] } = {}) {
    this.statusValue = {
      version: '0.1.0',
      routerId: '10.160.105.6',
      asn: 64512,
      startedMs: at('11:36:36'),
      nowMs: at('11:37:20'),
      configFile: '/etc/rsbird/n1/bird.cfg',
      configLoadedMs: at('11:36:36'),
      gracefulRestart: { state: 'none', waitingFor: 0, remainingSec: null },
      routesV4: 3,
      routesV6: 0,
      shuttingDown: false,
      ...o.status,
    };
    this.neighborList = o.neighbors ?? [];
    this.routeList = o.routes ?? [];
  }

  status(): DaemonStatus {
    return this.statusValue;
  }
  neighbors(): readonly NeighborStatus[] {
    return this.neighborList;
  }
  routes(filter?: { readonly prefix?: string; readonly family?: 'ipv4' | 'ipv6' }): readonly RoutePath[] {
    const fam = filter?.family;
    return fam === undefined ? this.routeList : this.routeList.filter((r) => r.prefix.includes(':') === (fam === 'ipv6'));
  }
  kernel(): readonly KernelRouteStatus[] {
    return this.kernelList;
  }
  memory(): { readonly routingTables: number; readonly routeAttributes: number; readonly protocols: number; readonly total: number } {
    return { routingTables: 35 * 1024, routeAttributes: 9984, protocols: 31 * 1024, total: 115 * 1024 };
  }
  async reload(): ReturnType<ControlBackend['reload']> {
    this.rec.reloads++;
    return this.reloadResult;
  }
  async checkConfig(): ReturnType<ControlBackend['checkConfig']> {
    this.rec.checks++;
    return this.checkResult;
  }
  neighborAction(name: string, action: 'enable' | 'disable' | 'reset'): ReturnType<ControlBackend['neighborAction']> {
    this.rec.actions.push({ name, action });
    const i = this.neighborList.findIndex((n) => n.name === name);
    const n = this.neighborList[i];
    if (n === undefined) return { ok: false, error: 'no such neighbor' };
    const now = this.statusValue.nowMs;
    if (action === 'disable') this.neighborList[i] = { ...n, enabled: false, sinceMs: now };
    else if (action === 'enable') this.neighborList[i] = { ...n, enabled: true, state: 'Established', sinceMs: now };
    return { ok: true, message: action === "reset" ? "session reset" : `${action}d` };
  }
  /** The daemon's two refusals, with its wording: not Established, no Route Refresh negotiated. */
  neighborRefresh(name: string, direction: RefreshDirection): ReturnType<ControlBackend['neighborRefresh']> {
    this.rec.actions.push({ name, action: `refresh ${direction}` });
    const n = this.neighborList.find((x) => x.name === name);
    if (n === undefined) return { ok: false, error: 'no such neighbor' };
    if (n.state !== 'Established') return { ok: false, error: `${name}: session is ${n.state}, not Established; route refresh needs an established session` };
    if (!n.capabilities.negotiated.some((c) => c === 'route-refresh' || c === 'refresh')) {
      return { ok: false, error: `${name}: the peer did not negotiate Route Refresh (RFC 2918); 'bgpctl neighbor ${n.address} reset' re-learns by a new session` };
    }
    return { ok: true, message: direction === 'in' ? 'ROUTE-REFRESH sent (ipv4-unicast); the peer resends its routes' : 're-sending the Adj-RIB-Out: 1 route (ipv4-unicast)' };
  }
  setLogLevel(level: string): ReturnType<ControlBackend['setLogLevel']> {
    if (level === 'bogus') return { ok: false, error: 'unknown level' };
    this.rec.levels.push(level);
    return { ok: true };
  }
  shutdown(): void {
    this.rec.shutdowns++;
  }
}

/** The seed node 10.160.105.6 as captured in bird1_basic/bird1_route: two Established mesh peers. */
export function seedNode(o: { peerSince?: string; started?: string; now?: string } = {}): FakeBackend {
  const since = at(o.peerSince ?? '11:36:38');
  const started = at(o.started ?? '11:36:36');
  return new FakeBackend({
    status: { startedMs: started, configLoadedMs: started, nowMs: at(o.now ?? '11:37:20') },
    neighbors: [neighbor('10.160.105.7', { sinceMs: since }), neighbor('10.160.105.8', { sinceMs: since })],
    routes: [
      bgpRoute('172.18.101.64/26', '10.160.105.7', { sinceMs: since }),
      bgpRoute('172.18.96.128/26', '10.160.105.8', { sinceMs: since }),
      route('172.18.64.0/26', { kind: 'blackhole', sinceMs: started }),
      route('10.160.105.0/24', { from: 'direct1', device: 'eth0', sinceMs: started }),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// A BIRD-protocol client

const FINAL_RE = /(^|\n)\d{4} [^\n]*\n/;

export class BirdClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(path: string): Promise<BirdClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ path });
      s.once('connect', () => resolve(new BirdClient(s)));
      s.once('error', reject);
    });
  }

  /** Everything up to and including the next final (`NNNN `) line. */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = FINAL_RE.exec(this.buf);
      if (m !== null) {
        const end = m.index + m[0].length;
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return out;
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buf)}`);
      if (Date.now() > deadline) throw new Error(`no final line; pending: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async command(line: string): Promise<string> {
    this.socket.write(line.endsWith('\n') ? line : `${line}\n`);
    return this.reply();
  }

  /** Resolves when the server closes the connection. */
  async ended(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.closed) throw new Error('server did not close the connection');
    return this.buf;
  }

  close(): void {
    this.socket.destroy();
  }
}
