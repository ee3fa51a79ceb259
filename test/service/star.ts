// A star for the service tests: wren in the middle (host `w`), one link per peer host; on link i
// wren is 10.0.i.1 and the peer 10.0.i.2. wren's YAML peers list is written by the test (so a
// reload can add, drop or change peers), everything else comes from WrenSpeaker.
import type { Host, Lab, Speaker } from '../lab/lib/index.js';
import { Bird2Speaker, GobgpSpeaker, WrenSpeaker, waitFor } from '../lab/lib/index.js';
import type { NeighborStatus } from '../../src/status.js';

export const WREN_AS = 65000;
export const WREN_ID = '10.0.0.50';
export const HOLD = 6;

export interface Spoke {
  readonly name: string;
  readonly index: number;
  readonly host: Host;
  readonly wrenIf: string;
  readonly wrenAddr: string;
  readonly peerAddr: string;
  /** Calico's protocol name for this peer as wren names it (a global peer). */
  readonly proto: string;
}

export async function addSpoke(lab: Lab, w: Host, index: number, name: string): Promise<Spoke> {
  const host = await lab.addHost(name);
  const wrenAddr = `10.0.${index}.1`;
  const peerAddr = `10.0.${index}.2`;
  const { ifA } = await lab.link(w, host, { a: [`${wrenAddr}/24`], b: [`${peerAddr}/24`] });
  return { name, index, host, wrenIf: ifA, wrenAddr, peerAddr, proto: `Global_${peerAddr.replaceAll('.', '_')}` };
}

export type PeerKind = 'bird2' | 'gobgp';

/** The peer side: iBGP to wren, originating one /26 of its own. */
export function peerSpeaker(kind: PeerKind, s: Spoke, originate: readonly string[] = []): Speaker {
  const cfg = {
    routerId: s.peerAddr,
    localAs: WREN_AS,
    listenAddress: s.peerAddr,
    neighbors: [{ address: s.wrenAddr, remoteAs: WREN_AS, localAddress: s.peerAddr, holdTime: HOLD }],
    originate,
  };
  return kind === 'bird2' ? new Bird2Speaker(s.host, cfg) : new GobgpSpeaker(s.host, cfg);
}

/** wren's YAML entry for a spoke's peer. */
export function wrenPeer(s: Spoke, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { address: s.peerAddr, asn: WREN_AS, 'source-address': s.wrenAddr, hold: HOLD, keepalive: HOLD / 3, ...over };
}

export function wrenOn(w: Host, extra: Record<string, unknown>, logLevel = 'debug'): WrenSpeaker {
  return new WrenSpeaker(w, { routerId: WREN_ID, localAs: WREN_AS, neighbors: [] }, { nodeAddress: '10.0.1.1/24', logLevel, extra });
}

export async function neighborsByAddr(wren: WrenSpeaker): Promise<Map<string, NeighborStatus>> {
  return new Map((await wren.neighbors()).map((n) => [n.address, n]));
}

/** Wait until wren has every address Established. */
export async function waitEstablished(wren: WrenSpeaker, addrs: readonly string[], timeoutMs = 30_000): Promise<Map<string, NeighborStatus>> {
  return waitFor(
    async () => {
      const m = await neighborsByAddr(wren);
      return addrs.every((a) => m.get(a)?.state === 'Established') ? m : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `wren Established with ${addrs.join(', ')}` },
  );
}

/** wren's JSON log lines (stdout), parsed; non-JSON lines are skipped. */
export function logLines(wren: WrenSpeaker): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of wren.logs().split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // a line still being written
    }
  }
  return out;
}
