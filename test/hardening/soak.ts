/**
 * A bounded soak: the 10-node seed cluster (test/lab/cluster.ts, node-to-node mesh) with a BGP
 * feeder peer (a raw peer in the gateway's namespace, eBGP AS 65100, proto/packer.ts UPDATEs)
 * announcing and withdrawing /26s inside the pool into node 0 at `rate` changes per second for
 * `minutes`. Every wren is sampled every 5 s: RSS, and `show status` latency on its control socket
 * (wren exposes no event-loop delay metric; a control reply needs the loop, so its latency bounds the
 * loop's stall), plus session health (no mesh session ever leaves Established: keepalives and hold
 * timers stayed on time). At the end every node must hold exactly the feeder's announced set.
 */
import { buildCluster, waitConverged, SEED_AS } from '../lab/cluster.js';
import type { Cluster } from '../lab/cluster.js';
import { RawBgp, p4 } from './lib/raw-bgp.js';
import { ctl, ctlNeighbors, ctlRoutes, rssKiB, sleep, until } from './lib/wren-proc.js';

export interface SoakOptions {
  readonly minutes: number;
  readonly rate?: number;
  readonly nodes?: number;
  readonly progress?: (line: string) => void;
}

export interface NodeFigures {
  readonly node: string;
  readonly rssStartMiB: number;
  readonly rssMaxMiB: number;
  readonly rssEndMiB: number;
  readonly ctlP50Ms: number;
  readonly ctlMaxMs: number;
  readonly ctlFailures: number;
  readonly flaps: number;
}

export interface SoakReport {
  readonly minutes: number;
  readonly changes: number;
  readonly achievedRate: number;
  readonly nodes: readonly NodeFigures[];
  readonly converged: boolean;
  readonly finalPrefixes: number;
  readonly feederUp: boolean;
  readonly allAlive: boolean;
}

const FEED_AS = 65100;
const GW = '10.160.105.1';
/** 64 /26s in 172.18.112.0/20, inside the seed pool and clear of every node's block. */
const POOL = Array.from({ length: 64 }, (_, i) => `172.18.${112 + (i >> 2)}.${(i & 3) * 64}/26`);

const mib = (k: number): number => Number((k / 1024).toFixed(1));

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const rate = opts.rate ?? 100;
  const c: Cluster = await buildCluster({ nodes: opts.nodes ?? 10, holdSec: 9, logLevel: 'warn' });
  try {
    await waitConverged(c, 180_000);
    const n0 = c.nodes[0]!;
    const w0 = n0.wren!;
    await w0.setExtra({ peers: [{ address: GW, asn: FEED_AS, passive: true }] });
    await w0.reload();
    const feeder = await RawBgp.establish(() => RawBgp.inNamespace(c.gateway.ns, { host: n0.address, port: 179, localAddress: GW }), { asn: FEED_AS, bgpId: GW, holdTimeSec: 9 }, 60_000);
    const attrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [FEED_AS] }], nextHop: 0x0aa06901 };
    const wrens = c.nodes.map((n) => ({ name: n.address, w: n.wren!, pid: n.wren!.process!.pid ?? -1 }));
    const since = new Map<string, Map<string, number>>();
    for (const x of wrens) since.set(x.name, new Map((await ctlNeighbors(x.w.socket)).filter((n) => n.address !== GW).map((n) => [n.address, n.sinceMs])));
    const figs = wrens.map((x) => ({ node: x.name, rss: [] as number[], ctl: [] as number[], fail: 0, flaps: 0 }));
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        await Promise.all(
          wrens.map(async (x, i) => {
            const f = figs[i]!;
            const r = rssKiB(x.pid);
            if (r !== null) f.rss.push(r);
            const t0 = Date.now();
            try {
              const s = await ctl(x.w.socket, 'show status', undefined, 10_000);
              if (!s.ok) throw new Error('not ok');
              f.ctl.push(Date.now() - t0);
            } catch {
              f.fail++;
            }
          }),
        );
        for (let s = 0; s < 50 && !stop; s++) await sleep(100);
      }
    })();

    // Churn: each tick flips prefixes between announced and withdrawn, `rate` flips per second.
    const announced = new Set<string>();
    let changes = 0;
    const t0 = Date.now();
    const endAt = t0 + opts.minutes * 60_000;
    let i = 0;
    let lastLog = t0;
    while (Date.now() < endAt && feeder.isOpen) {
      const tickStart = Date.now();
      const perTick = Math.max(1, Math.round(rate / 10));
      const add: string[] = [];
      const del: string[] = [];
      for (let k = 0; k < perTick; k++) {
        const p = POOL[i++ % POOL.length]!;
        if (announced.has(p)) {
          announced.delete(p);
          del.push(p);
        } else {
          announced.add(p);
          add.push(p);
        }
      }
      if (del.length > 0) await feeder.writeDrained(feeder.withdraw(del));
      if (add.length > 0) await feeder.sendAll(feeder.packAnnounce(add.map(p4), attrs));
      changes += add.length + del.length;
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        opts.progress?.(`${Math.round((Date.now() - t0) / 1000)} s: ${changes} changes; RSS MiB ${figs.map((f) => mib(f.rss[f.rss.length - 1] ?? 0)).join(' ')}`);
      }
      await sleep(Math.max(0, 100 - (Date.now() - tickStart)));
    }
    const elapsed = (Date.now() - t0) / 1000;
    stop = true;
    await sampler;

    // Convergence: every node holds exactly the announced set (node 0 from the feeder, the others via the mesh).
    const want = [...announced].sort();
    let converged = false;
    try {
      await until(
        async () => {
          for (const x of wrens) {
            const got = (await ctlRoutes(x.w.socket)).filter((r) => POOL.includes(r.prefix)).map((r) => r.prefix);
            if ([...new Set(got)].sort().join() !== want.join()) return undefined;
          }
          return true;
        },
        120_000,
        'every node holds the announced set',
        1000,
      );
      converged = true;
    } catch {
      converged = false;
    }
    for (const [k, x] of wrens.entries()) {
      const before = since.get(x.name)!;
      const now = await ctlNeighbors(x.w.socket).catch(() => []);
      figs[k]!.flaps = [...before.entries()].filter(([a, s]) => now.find((n) => n.address === a)?.sinceMs !== s).length;
    }
    const pct = (xs: number[], q: number): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length === 0 ? -1 : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
    };
    const report: SoakReport = {
      minutes: opts.minutes,
      changes,
      achievedRate: Number((changes / elapsed).toFixed(1)),
      nodes: figs.map((f) => ({
        node: f.node,
        rssStartMiB: mib(f.rss[0] ?? 0),
        rssMaxMiB: mib(Math.max(0, ...f.rss)),
        rssEndMiB: mib(f.rss[f.rss.length - 1] ?? 0),
        ctlP50Ms: pct(f.ctl, 0.5),
        ctlMaxMs: Math.max(0, ...f.ctl),
        ctlFailures: f.fail,
        flaps: f.flaps,
      })),
      converged,
      finalPrefixes: want.length,
      feederUp: feeder.isOpen && feeder.notifications().length === 0,
      allAlive: c.nodes.every((n) => n.wren?.process?.running === true),
    };
    feeder.destroy();
    return report;
  } finally {
    await c.lab.close();
  }
}

export { SEED_AS };
