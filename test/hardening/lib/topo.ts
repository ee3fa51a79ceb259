// The hardening lab: wren in namespace `w` with kernel programming on, a real BIRD 2 peer in `b`
// (eBGP, originates 10.20.0.0/24 and takes whatever wren exports), and namespace `r` for raw test
// peers on 192.0.2.0/24 — the malformed table's next hop (192.0.2.1) is the raw peer itself, so
// what wren accepts from it is installable in the kernel.
import type { Host, Lab } from '../../lab/lib/index.js';
import { Bird2Speaker, WrenSpeaker } from '../../lab/lib/index.js';
import { RawBgp } from './raw-bgp.js';
import type { OpenOptions } from './raw-bgp.js';
import { ctlNeighbor, pathsFrom, until } from './wren-proc.js';

export const WREN_AS = 65000;
export const RAW_AS = 65001;
export const BIRD_AS = 65002;
export const WREN_B = '10.0.1.1';
export const BIRD_ADDR = '10.0.1.2';
export const WREN_R = '192.0.2.2';
export const RAW_ADDR = '192.0.2.1';
export const BIRD_PREFIX = '10.20.0.0/24';

export interface HardLab {
  readonly w: Host;
  readonly b: Host;
  readonly r: Host;
  readonly wren: WrenSpeaker;
  readonly bird: Bird2Speaker;
  /** BIRD's route in wren's kernel (`ip route` line) once converged. */
  readonly birdKernelLine: string;
  /** wren's sinceMs for the BIRD session once established. */
  readonly birdSince: number;
}

export interface HardLabOptions {
  /** Extra keys of the raw peer's entry in wren's config (max-prefix, hold, ...). */
  readonly rawPeer?: Record<string, unknown>;
  /** More raw peers in `r` (addresses in 192.0.2.0/24 are added to r's interface). */
  readonly moreRawPeers?: readonly { readonly address: string; readonly asn: number; readonly extra?: Record<string, unknown> }[];
  readonly extra?: Record<string, unknown>;
  readonly logLevel?: string;
}

export async function kernelLine(h: Host, prefix: string): Promise<string> {
  return (await h.routes(4)).split('\n').find((l) => l.startsWith(`${prefix} `)) ?? '';
}

export async function buildHardLab(lab: Lab, o: HardLabOptions = {}): Promise<HardLab> {
  const w = await lab.addHost('w');
  const b = await lab.addHost('b');
  const r = await lab.addHost('r');
  await lab.link(w, b, { a: [`${WREN_B}/24`], b: [`${BIRD_ADDR}/24`] });
  await lab.link(w, r, { a: [`${WREN_R}/24`], b: [`${RAW_ADDR}/24`] });
  for (const p of o.moreRawPeers ?? []) await r.addAddress('eth0', `${p.address}/24`);
  const peers = [
    { address: BIRD_ADDR, asn: BIRD_AS, hold: 9, keepalive: 3, 'source-address': WREN_B },
    { address: RAW_ADDR, asn: RAW_AS, passive: true, 'source-address': WREN_R, hold: 30, ...(o.rawPeer ?? {}) },
    ...(o.moreRawPeers ?? []).map((p) => ({ address: p.address, asn: p.asn, passive: true, 'source-address': WREN_R, hold: 30, ...(p.extra ?? {}) })),
  ];
  const wren = new WrenSpeaker(
    w,
    { routerId: WREN_B, localAs: WREN_AS, neighbors: [] },
    {
      nodeAddress: `${WREN_B}/24`,
      logLevel: o.logLevel ?? 'info',
      extra: {
        timers: { hold: 30, 'connect-retry': 1, 'connect-delay': 0, 'error-wait': { min: 1, max: 1 } },
        kernel: { program: true, persist: true },
        blocks: [],
        pools: [],
        peers,
        ...(o.extra ?? {}),
      },
    },
  );
  const bird = new Bird2Speaker(b, { routerId: BIRD_ADDR, localAs: BIRD_AS, neighbors: [{ address: WREN_B, remoteAs: WREN_AS, holdTime: 9, keepalive: 3 }], originate: [BIRD_PREFIX] });
  await wren.start();
  await bird.start();
  await bird.waitForState(WREN_B, 'Established', 60_000);
  await until(async () => ((await pathsFrom(wren.socket, BIRD_PREFIX, BIRD_ADDR)).length > 0 ? true : undefined), 60_000, 'BIRD route in wren');
  const birdKernelLine = await until(async () => {
    const l = await kernelLine(w, BIRD_PREFIX);
    return l === '' ? undefined : l;
  }, 60_000, `${BIRD_PREFIX} in wren's kernel`);
  const birdSince = (await ctlNeighbor(wren.socket, BIRD_ADDR)).sinceMs;
  return { w, b, r, wren, bird, birdKernelLine, birdSince };
}

/** A raw peer in `r` connected to wren (retrying through wren's error-wait) and Established. */
export async function rawSession(h: HardLab, open: Partial<OpenOptions> = {}, from = RAW_ADDR, timeoutMs = 60_000): Promise<RawBgp> {
  return RawBgp.establish(() => RawBgp.inNamespace(h.r.ns, { host: WREN_R, port: 179, localAddress: from }), { asn: RAW_AS, bgpId: from, holdTimeSec: 30, ...open }, timeoutMs);
}

/** The BIRD session is still the one established at start (never flapped) and its route is in wren's kernel. */
export async function birdUntouched(h: HardLab): Promise<{ since: boolean; state: string; kernel: string; rib: boolean }> {
  const n = await ctlNeighbor(h.wren.socket, BIRD_ADDR);
  return { since: n.sinceMs === h.birdSince, state: n.state, kernel: await kernelLine(h.w, BIRD_PREFIX), rib: (await pathsFrom(h.wren.socket, BIRD_PREFIX, BIRD_ADDR)).length > 0 };
}
