// The graceful-restart topology shared by routing-gr-*.test.ts: wren (AS 65000, kernel
// programming on, a Calico block in pool 10.64.0.0/16) with an eBGP BIRD 2 (AS 65001,
// `graceful restart on`, a short restart time) that originates GR_NET, and an iBGP GoBGP that
// receives GR_NET from wren (to see whether wren withdraws it while BIRD is away).
import { join } from 'node:path';
import { Bird2Speaker, GobgpSpeaker, WrenSpeaker } from '../lab/lib/index.js';
import type { Capture, Host, Lab, LabProcess } from '../lab/lib/index.js';
import { kernelRoute, segmentHosts, sleep } from './routing-lib.js';

export const WREN = '10.0.0.1';
export const BIRD = '10.0.0.2';
export const GOBGP = '10.0.0.3';
export const GR_NET = '10.64.7.0/26';
const POOL = '10.64.0.0/16';
const BLOCK = '10.64.1.0/26';

export interface GrTopology {
  readonly wren: WrenSpeaker;
  readonly bird: Bird2Speaker;
  readonly go: GobgpSpeaker;
  readonly hw: Host;
  readonly hb: Host;
  readonly cap: Capture;
}

export async function grTopology(lab: Lab, restartTimeSec: number): Promise<GrTopology> {
  const [hw, hb, hg] = await segmentHosts(lab, ['wren', 'bird', 'gobgp']);
  const wren = new WrenSpeaker(
    hw!,
    {
      routerId: WREN,
      localAs: 65000,
      listenAddress: WREN,
      kernel: true,
      neighbors: [
        { address: BIRD, remoteAs: 65001, gracefulRestart: true },
        { address: GOBGP, remoteAs: 65000 },
      ],
      originate: [BLOCK],
    },
    { extra: { pools: [{ cidr: POOL, 'ipip-mode': 'Never' }] } },
  );
  const bird = new Bird2Speaker(hb!, {
    routerId: BIRD,
    localAs: 65001,
    listenAddress: BIRD,
    neighbors: [{ address: WREN, remoteAs: 65000, gracefulRestart: true, restartTime: restartTimeSec }],
    originate: [GR_NET],
  });
  const go = new GobgpSpeaker(hg!, { routerId: GOBGP, localAs: 65000, listenAddress: GOBGP, neighbors: [{ address: WREN, remoteAs: 65000 }] });
  const cap = await hw!.capture('eth0');
  await Promise.all([wren.start(), bird.start(), go.start()]);
  return { wren, bird, go, hw: hw!, hb: hb!, cap };
}

/** Wait until wren's namespace has a kernel route for the prefix; returns the line. */
export async function waitKernel(host: Host, prefix: string, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const l = await kernelRoute(host, prefix);
    if (l !== '') return l;
    await sleep(200);
  }
  return '';
}

/** `ip -4 monitor route` in a namespace: every kernel route change, to catch even a short flap. */
export async function monitorRoutes(host: Host): Promise<LabProcess> {
  const p = host.spawn('ip', ['-4', 'monitor', 'route'], { name: 'ipmon' });
  await sleep(300);
  return p;
}

/** Lines of `ip monitor` output that delete the prefix. */
export function deletions(mon: LabProcess, prefix: string): string[] {
  return mon
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('Deleted') && l.includes(prefix));
}

/**
 * Start BIRD again as Calico's calico-node does (`bird -R`: graceful-restart recovery, so its OPEN
 * carries the Restart State and Forwarding State bits), on the config and socket of `bird`.
 */
export function restartBird(hb: Host, bird: Bird2Speaker): LabProcess {
  return hb.spawn('bird', ['-f', '-R', '-c', join(hb.dir, 'bird2.conf'), '-s', bird.socket, '-P', join(hb.dir, 'bird2-restarted.pid')], { name: 'bird2-restarted' });
}
