// Shared pieces of the sessions-*.test.ts interop tests: a star topology (wren in the middle, one
// veth per peer host, IPv4 + IPv6 on each), readers of wren's neighbour status and of `ss` inside
// a namespace, and the raw test peer runner.
import { join } from 'node:path';
import type { Test } from 'tap';
import type { BgpWireMessage, Capture, Host, Lab, NeighborConfig, Speaker, SpeakerConfig, SpeakerKind } from '../lab/lib/index.js';
import { Bird1Speaker, Bird2Speaker, FrrSpeaker, GobgpSpeaker, WrenSpeaker, repoRoot, waitFor } from '../lab/lib/index.js';
import type { NeighborStatus } from '../../src/status.js';
import type { RawPeerEvent, RawPeerOptions } from './raw-peer.js';

export const HOLD = 6;
export const KEEPALIVE = 2;
export const WREN_AS = 65000;
export const WREN_ID = '10.0.0.50';
/** wren's connect delay in the matrix (BIRD `connect delay time`; Calico uses 2). */
export const CONNECT_DELAY = 3;

/** One peer host on its own link: wren is .1 / ::1 there, the peer .2 / ::2. */
export interface Spoke {
  readonly host: Host;
  readonly index: number;
  /** wren's interface towards this peer. */
  readonly wrenIf: string;
  readonly peerIf: string;
  readonly wren4: string;
  readonly wren6: string;
  readonly peer4: string;
  readonly peer6: string;
}

export async function addSpoke(lab: Lab, wren: Host, index: number, name: string): Promise<Spoke> {
  const host = await lab.addHost(name);
  const wren4 = `10.0.${index}.1`;
  const peer4 = `10.0.${index}.2`;
  const wren6 = `fd00:${index}::1`;
  const peer6 = `fd00:${index}::2`;
  const { ifA, ifB } = await lab.link(wren, host, { a: [`${wren4}/24`, `${wren6}/64`], b: [`${peer4}/24`, `${peer6}/64`] });
  return { host, index, wrenIf: ifA, peerIf: ifB, wren4, wren6, peer4, peer6 };
}

/** Start a lab speaker of `kind` on a host. */
export function speakerOf(kind: Exclude<SpeakerKind, 'wren'>, host: Host, cfg: SpeakerConfig): Speaker {
  switch (kind) {
    case 'bird2':
      return new Bird2Speaker(host, cfg);
    case 'bird1':
      return new Bird1Speaker(host, cfg);
    case 'gobgp':
      return new GobgpSpeaker(host, cfg);
    case 'frr':
      return new FrrSpeaker(host, cfg);
  }
}

/** wren's config for a star: one neighbour per spoke and family, each sourced from wren's address on that link. */
export function wrenOn(host: Host, peers: readonly (NeighborConfig & { readonly source: string })[], extra: Record<string, unknown> = {}): WrenSpeaker {
  return new WrenSpeaker(
    host,
    {
      routerId: WREN_ID,
      localAs: WREN_AS,
      neighbors: peers.map(({ source, ...n }) => ({ ...n, localAddress: source, holdTime: n.holdTime ?? HOLD, keepalive: n.keepalive ?? KEEPALIVE })),
    },
    { nodeAddress: '10.0.1.1/24', nodeAddressV6: 'fd00:1::1/64', logLevel: 'debug', extra },
  );
}

export async function neighbor(wren: WrenSpeaker, address: string): Promise<NeighborStatus> {
  const n = (await wren.neighbors()).find((x) => x.address === address);
  if (n === undefined) throw new Error(`wren has no neighbour ${address}`);
  return n;
}

export interface TcpConn {
  readonly local: string;
  readonly localPort: number;
  readonly peer: string;
  readonly peerPort: number;
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i).replace(/^\[|\]$/g, '').replace(/^::ffff:/, ''), Number(s.slice(i + 1))];
}

/** Established TCP connections with port 179 on either end, inside a host's namespace (`ss -tn`). */
export async function bgpConnections(host: Host): Promise<TcpConn[]> {
  const r = await host.exec('ss', ['-tnH', 'state', 'established', '( sport = :179 or dport = :179 )']);
  const out: TcpConn[] = [];
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    // Recv-Q Send-Q Local:Port Peer:Port
    const [local, localPort] = splitHostPort(f[2] ?? '');
    const [peer, peerPort] = splitHostPort(f[3] ?? '');
    out.push({ local, localPort, peer, peerPort });
  }
  return out;
}

/** SYNs (without ACK) on port 179 in a capture, as [src, dst] pairs. */
export async function synsIn(cap: Capture): Promise<{ src: string; dst: string; dport: number }[]> {
  const frames = await cap.json('tcp.flags.syn == 1 && tcp.flags.ack == 0');
  const out: { src: string; dst: string; dport: number }[] = [];
  for (const f of frames) {
    const layers = (f as { _source?: { layers?: Record<string, Record<string, unknown>> } })._source?.layers ?? {};
    const ip = layers['ip'] ?? layers['ipv6'] ?? {};
    const tcp = layers['tcp'] ?? {};
    out.push({
      src: String(ip['ip.src'] ?? ip['ipv6.src'] ?? ''),
      dst: String(ip['ip.dst'] ?? ip['ipv6.dst'] ?? ''),
      dport: Number(tcp['tcp.dstport'] ?? 0),
    });
  }
  return out;
}

interface ConnTimeline {
  /** wren's port on this connection: 179 = the peer opened it. */
  readonly wrenPort: number;
  readonly peerPort: number;
  /** When both OPENs had crossed, and when both KEEPALIVEs after them had (Established). */
  openDone: number;
  estDone: number;
  /** The peer sent an OPEN on it (it took part in BGP, not only in TCP). */
  peerOpen: boolean;
}

/**
 * Per TCP connection between wren (`wrenAddr`) and one peer address: when the OPEN exchange and
 * the KEEPALIVE exchange completed. RFC 4271 §6.8 keeps an Established connection against a
 * newer one, and only between two connections still in OpenSent/OpenConfirm decides by the BGP
 * Identifier; this tells which of the two cases a capture shows.
 */
export async function connectionTimelines(cap: Capture, wrenAddr: string, peerAddr: string): Promise<ConnTimeline[]> {
  const frames = await cap.json('bgp');
  const conns = new Map<string, ConnTimeline & { opens: Set<string>; kas: Set<string> }>();
  for (const f of frames) {
    const layers = (f as { _source?: { layers?: Record<string, unknown> } })._source?.layers ?? {};
    const ip = (layers['ip'] ?? layers['ipv6'] ?? {}) as Record<string, unknown>;
    const tcp = (layers['tcp'] ?? {}) as Record<string, unknown>;
    const frame = (layers['frame'] ?? {}) as Record<string, unknown>;
    const src = String(ip['ip.src'] ?? ip['ipv6.src'] ?? '');
    const dst = String(ip['ip.dst'] ?? ip['ipv6.dst'] ?? '');
    if (!((src === wrenAddr && dst === peerAddr) || (src === peerAddr && dst === wrenAddr))) continue;
    const from = src === wrenAddr ? 'wren' : 'peer';
    const wrenPort = Number(from === 'wren' ? tcp['tcp.srcport'] : tcp['tcp.dstport']);
    const peerPort = Number(from === 'wren' ? tcp['tcp.dstport'] : tcp['tcp.srcport']);
    const time = Number(frame['frame.time_relative'] ?? 0);
    const key = `${wrenPort}/${peerPort}`;
    let c = conns.get(key);
    if (c === undefined) {
      c = { wrenPort, peerPort, openDone: Infinity, estDone: Infinity, peerOpen: false, opens: new Set(), kas: new Set() };
      conns.set(key, c);
    }
    const bgp = layers['bgp'];
    for (const m of Array.isArray(bgp) ? bgp : [bgp]) {
      const type = Number((m as Record<string, unknown> | undefined)?.['bgp.type'] ?? 0);
      if (type === 1) {
        c.opens.add(from);
        if (from === 'peer') c.peerOpen = true;
        if (c.opens.size === 2 && c.openDone === Infinity) c.openDone = time;
      } else if (type === 4 && c.opens.has(from)) {
        c.kas.add(from);
        if (c.kas.size === 2 && c.opens.size === 2 && c.estDone === Infinity) c.estDone = time;
      }
    }
  }
  return [...conns.values()].map(({ opens: _o, kas: _k, ...c }) => c);
}

/** Hex of a NOTIFICATION's Data field as tshark shows it ('' when empty). */
export function notificationData(m: BgpWireMessage): string {
  const key = Object.keys(m.fields).find((k) => k === 'bgp.notify.minor_data' || k === 'bgp.notify.error_data' || k === 'bgp.notify.data');
  const v = key === undefined ? '' : String(m.fields[key]);
  return v.replace(/:/g, '').toLowerCase();
}

/** Run the raw test peer in a host's namespace until it exits; returns its events. */
export async function runRawPeer(host: Host, o: RawPeerOptions, name = 'rawpeer'): Promise<RawPeerEvent[]> {
  const p = host.spawn('node', [join(repoRoot(), 'dist/test/interop/raw-peer.js'), JSON.stringify(o)], { name });
  await Promise.race([p.exited, new Promise((res) => setTimeout(res, (o.timeoutMs ?? 20_000) + 5000))]);
  return p
    .stdout()
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as RawPeerEvent);
}

export function ipv4Number(a: string): number {
  return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** Wait until every neighbour of wren in `addresses` is Established. */
export async function waitAllEstablished(wren: WrenSpeaker, addresses: readonly string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const ns = await wren.neighbors();
      return addresses.every((a) => ns.find((n) => n.address === a)?.state === 'Established') ? true : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `wren: ${addresses.join(', ')} Established` },
  ).catch(async (err: unknown) => {
    const ns = await wren.neighbors();
    throw new Error(`${String(err)}\n${ns.map((n) => `${n.address} ${n.state} ${n.lastError}`).join('\n')}\n--- wren log tail:\n${wren.logs().slice(-4000)}`);
  });
}

/**
 * "Stays up": snapshot every neighbour, wait three hold times, and check each one is still
 * Established with the same `since`, no new OPEN or NOTIFICATION either way, and keepalives flowing.
 */
export async function assertStaysUp(t: Test, wren: WrenSpeaker, addresses: readonly string[], holdSec = HOLD): Promise<void> {
  const before = new Map((await wren.neighbors()).map((n) => [n.address, n]));
  await sleep(3 * holdSec * 1000 + 1000);
  const after = new Map((await wren.neighbors()).map((n) => [n.address, n]));
  for (const a of addresses) {
    const b = before.get(a);
    const n = after.get(a);
    t.equal(n?.state, 'Established', `${a}: still Established after 3 x hold`);
    t.equal(n?.sinceMs, b?.sinceMs, `${a}: same since (no flap)`);
    t.equal(n?.messages.in.open, b?.messages.in.open, `${a}: no new OPEN received`);
    t.equal(n?.messages.in.notification, b?.messages.in.notification, `${a}: no NOTIFICATION received`);
    t.equal(n?.messages.out.notification, b?.messages.out.notification, `${a}: no NOTIFICATION sent`);
    const ka = (n?.messages.in.keepalive ?? 0) - (b?.messages.in.keepalive ?? 0);
    t.ok(ka >= Math.floor((3 * holdSec) / 3) - 1, `${a}: keepalives kept arriving (${ka} in 3 x hold)`);
  }
}

/** SIGSTOP / SIGCONT every process in a host's namespace (the peer daemons this test started). */
export async function signalHost(host: Host, sig: 'STOP' | 'CONT'): Promise<void> {
  const r = await host.exec('ip', ['netns', 'pids', host.ns]).catch(() => ({ stdout: '' }));
  for (const pid of r.stdout.split(/\s+/).filter((x) => /^\d+$/.test(x))) {
    try {
      process.kill(Number(pid), `SIG${sig}`);
    } catch {
      // gone already
    }
  }
}

export type PeerKind = Exclude<SpeakerKind, 'wren'>;

/**
 * The Must-show matrix for one daemon: wren active (peer passive), wren passive (peer active), and
 * both active with a forced connection collision — once with the peer's BGP Identifier below
 * wren's (wren's own connection must survive), once above (the peer's must) — each over IPv4 and
 * IPv6, all against one wren. Then three hold times of stability with no NOTIFICATION on the wire.
 */
export async function sessionMatrix(t: Test, lab: Lab, kind: PeerKind): Promise<void> {
  const w = await lab.addHost('wren');
  // index, name, wren passive?, peer passive?, peer router id, peer AS
  const plan = [
    { i: 1, name: 'act', wrenPassive: false, peerPassive: true, id: '10.0.0.11', as: WREN_AS },
    { i: 2, name: 'pas', wrenPassive: true, peerPassive: false, id: '10.0.0.12', as: 65002 },
    { i: 3, name: 'clo', wrenPassive: false, peerPassive: false, id: '10.0.0.13', as: WREN_AS },
    { i: 4, name: 'chi', wrenPassive: false, peerPassive: false, id: '10.0.0.99', as: 65004 },
  ] as const;
  const spokes = new Map<string, Spoke>();
  for (const p of plan) spokes.set(p.name, await addSpoke(lab, w, p.i, p.name));
  const sp = (name: string): Spoke => spokes.get(name) as Spoke;

  const wren = wrenOn(
    w,
    plan.flatMap((p) => [
      { address: sp(p.name).peer4, remoteAs: p.as, passive: p.wrenPassive, source: sp(p.name).wren4 },
      { address: sp(p.name).peer6, remoteAs: p.as, passive: p.wrenPassive, source: sp(p.name).wren6 },
    ]),
    { timers: { 'connect-retry': 1, 'connect-delay': CONNECT_DELAY, 'error-wait': { min: 1, max: 2 } } },
  );
  const peers = new Map<string, Speaker>();
  for (const p of plan) {
    const s = sp(p.name);
    peers.set(
      p.name,
      speakerOf(kind, s.host, {
        routerId: p.id,
        localAs: p.as,
        neighbors: [
          { address: s.wren4, remoteAs: WREN_AS, passive: p.peerPassive, localAddress: s.peer4 },
          { address: s.wren6, remoteAs: WREN_AS, passive: p.peerPassive, localAddress: s.peer6 },
        ],
      }),
    );
  }
  const caps = new Map<string, Capture>();
  for (const p of plan) caps.set(p.name, await w.capture(sp(p.name).wrenIf, { name: `start-${p.name}` }));
  // Force the collisions. wren starts first and waits CONNECT_DELAY in Active; it is frozen
  // (SIGSTOP) while the peers start and connect to it — the kernel completes their handshakes
  // and their OPENs wait unread, the peers sit in OpenSent. Thawed after its connect delay is
  // overdue, wren connects out to each peer before it reads their OPENs: both sides have a
  // connection of their own with an OPEN on it at once, the RFC 4271 §6.8 case.
  await wren.start();
  const wrenStarted = Date.now();
  const wrenPid = wren.process?.pid;
  if (wrenPid === undefined) throw new Error('wren has no pid');
  process.kill(wrenPid, 'SIGSTOP');
  try {
    await Promise.all([...peers.values()].map((s) => s.start()));
    for (const name of ['clo', 'chi']) {
      const peer = peers.get(name) as Speaker;
      await peer.waitForState(sp(name).wren4, 'OpenSent', 20_000);
      await peer.waitForState(sp(name).wren6, 'OpenSent', 20_000);
    }
    await sleep(Math.max(0, wrenStarted + (CONNECT_DELAY + 0.5) * 1000 - Date.now()));
  } finally {
    process.kill(wrenPid, 'SIGCONT');
  }

  const all = plan.flatMap((p) => [sp(p.name).peer4, sp(p.name).peer6]);
  await waitAllEstablished(wren, all, 40_000);
  for (const p of plan) {
    const s = sp(p.name);
    const peer = peers.get(p.name) as Speaker;
    await peer.waitForState(s.wren4, 'Established', 20_000);
    await peer.waitForState(s.wren6, 'Established', 20_000);
    t.pass(`${kind} ${p.name}: ${s.wren4} and ${s.wren6} Established on the peer too`);
  }
  // Let collision losers finish closing before counting connections.
  await sleep(2000);
  for (const p of plan) {
    const s = sp(p.name);
    const conns = await bgpConnections(w);
    for (const [addr, local] of [
      [s.peer4, s.wren4],
      [s.peer6, s.wren6],
    ] as const) {
      const mine = conns.filter((c) => c.peer === addr);
      t.equal(mine.length, 1, `${p.name} ${addr}: exactly one TCP connection (${JSON.stringify(mine)})`);
      const c = mine[0];
      t.equal(c?.local, local, `${p.name} ${addr}: sourced from wren's address on that link`);
      // wren-initiated: the peer's port is 179; peer-initiated: wren's port is 179.
      const initiator = c === undefined ? 'none' : c.peerPort === 179 && c.localPort !== 179 ? 'wren' : 'peer';
      let expected: 'wren' | 'peer';
      if (p.name === 'act') expected = 'wren';
      else if (p.name === 'pas') expected = 'peer';
      else {
        // RFC 4271 §6.8: between two connections that both got as far as the OPEN exchange, the
        // one opened by the larger BGP Identifier survives — unless one was Established before
        // the other's OPEN exchange completed ("collision with an existing BGP connection that is
        // in the Established state causes closing of the newly created connection").
        const cap = caps.get(p.name) as Capture;
        await cap.stop();
        const all = await connectionTimelines(cap, local, addr);
        const tl = all.filter((x) => x.openDone !== Infinity || x.peerOpen);
        const first = [...tl].sort((x, y) => x.estDone - y.estDone)[0];
        const others = tl.filter((x) => x !== first);
        const establishedFirst = first !== undefined && others.length > 0 && others.every((o) => first.estDone < o.openDone);
        const byId: 'wren' | 'peer' = ipv4Number(p.id) > ipv4Number(WREN_ID) ? 'peer' : 'wren';
        // Some peers (GoBGP) close a second connection before any OPEN on it: then only one
        // connection ever carried BGP and there is no §6.8 decision to take.
        const only = tl.length === 1 ? tl[0] : undefined;
        if (only !== undefined) expected = only.wrenPort === 179 ? 'peer' : 'wren';
        else expected = establishedFirst && first !== undefined ? (first.wrenPort === 179 ? 'peer' : 'wren') : byId;
        t.ok(tl.length >= 1, `${p.name} ${addr}: connections with an OPEN exchange: ${JSON.stringify(tl)}`);
        t.comment(
          `${p.name} ${addr}: ${only !== undefined ? 'the peer closed its second connection before an OPEN' : establishedFirst ? 'one connection was Established first' : 'decided by BGP Identifier'}; expected survivor ${expected}`,
        );
      }
      t.equal(initiator, expected, `${p.name} ${addr}: the surviving connection was opened by ${expected}`);
    }
  }
  // Evidence that the collisions really happened: SYNs both ways on each collision link.
  for (const p of plan) {
    const cap = caps.get(p.name) as Capture;
    await cap.stop();
    const s = sp(p.name);
    const syns = await synsIn(cap);
    for (const [peerA, wrenA] of [
      [s.peer4, s.wren4],
      [s.peer6, s.wren6],
    ] as const) {
      const fromWren = syns.filter((x) => x.src === wrenA && x.dport === 179).length;
      const fromPeer = syns.filter((x) => x.src === peerA && x.dport === 179).length;
      if (p.name === 'act') t.equal(fromPeer, 0, `act ${peerA}: the passive peer never connected`);
      if (p.name === 'pas') t.equal(fromWren, 0, `pas ${peerA}: passive wren never connected`);
      if (p.name === 'clo' || p.name === 'chi') {
        t.ok(fromWren > 0 && fromPeer > 0, `${p.name} ${peerA}: both sides connected (SYNs wren ${fromWren}, peer ${fromPeer})`);
        const notes = (await cap.notifications()).filter((m) => m.errorCode !== 6 || m.errorSubcode !== 7);
        t.same(
          notes.filter((m) => m.src === peerA || m.dst === peerA).map((m) => `${m.src} ${m.errorCode}/${m.errorSubcode}`),
          [],
          `${p.name} ${peerA}: no NOTIFICATION other than Cease/Connection Collision Resolution`,
        );
      }
    }
  }
  // Three hold times of stability, with the wire watched for NOTIFICATIONs.
  const stable = await Promise.all(plan.map((p) => w.capture(sp(p.name).wrenIf, { name: `stable-${p.name}` })));
  await assertStaysUp(t, wren, all);
  for (const [i, cap] of stable.entries()) {
    await cap.stop();
    const msgs = await cap.bgpMessages();
    t.same(
      msgs.filter((m) => m.type === 3).map((m) => `${m.src} ${m.errorCode}/${m.errorSubcode}`),
      [],
      `${plan[i]?.name}: no NOTIFICATION on the wire during 3 x hold`,
    );
    t.ok(msgs.filter((m) => m.type === 4).length >= 10, `${plan[i]?.name}: keepalives on the wire both ways (${msgs.filter((m) => m.type === 4).length})`);
  }
  for (const p of plan) {
    const s = sp(p.name);
    const peer = peers.get(p.name) as Speaker;
    t.equal((await peer.peerState(s.wren4)).state, 'Established', `${p.name}: ${kind} still Established over IPv4`);
    t.equal((await peer.peerState(s.wren6)).state, 'Established', `${p.name}: ${kind} still Established over IPv6`);
  }
}
