#!/usr/bin/env node
/**
 * `npm run bench`: wren side by side with BIRD 2, BIRD 1.6, FRR and GoBGP, each receiver alone in
 * its own network namespace, fed by the same feeder (bench/feeder.ts) over a veth.
 *
 *   1. ingest: N prefixes over K attribute sets from one eBGP peer: time until the receiver holds
 *      all N, CPU seconds and RSS growth per route of its process(es), time to withdraw them all;
 *   2. kernel: 100k /26 received and in the kernel (wren, BIRD 2, FRR), counted from rtnetlink
 *      notifications in the receiver's namespace (bench/lib/kcount.ts);
 *   3. mesh: one wren, M iBGP route-reflector clients (the feeder as M peers from M addresses),
 *      each announcing one /26: time to converge, one new block to every peer, idle CPU and RSS;
 *   4. wren's event-loop delay (p99 / max since start) and session losses in every run.
 * Results: bench/results/bench-<time>.{md,json} and latest.{md,json}; the table is printed.
 *
 * Options: --quick (100k, 200 peers, 10 s idle) --sizes 100k,500k,1m --receivers wren,bird2,...
 *   --peers 200,1000 --attr-sets 100000 --kernel-routes 100000 --idle-sec 30
 *   --only ingest,kernel,mesh --out DIR
 */
import process from 'node:process';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../test/lab/lib/lab.js';
import type { Host } from '../test/lab/lib/lab.js';
import { repoRoot } from '../test/lab/lib/paths.js';
import { labAvailable } from '../test/lab/lib/available.js';
import type { DaemonKind } from '../test/lab/lib/paths.js';
import { formatIpv4, parseIpv4 } from '../proto/prefix.js';
import { FeederClient } from './lib/feeder-client.js';
import { sample } from './lib/procstat.js';
import type { ProcSample } from './lib/procstat.js';
import { ALL_RECEIVERS, KERNEL_PROTO, RECEIVER_LABEL, makeReceiver } from './lib/receivers.js';
import type { Receiver, ReceiverKind, WrenStats } from './lib/receivers.js';
import { renderMarkdown } from './lib/report.js';
import type { BenchResults, IngestResult, KernelResult, MeshResult, EventLoop } from './lib/report.js';

const HOLD = 90;
const KEEPALIVE = 30;
const RCV_AS = 65000;
const FEED_AS = 65001;

const wall = (): number => performance.timeOrigin + performance.now();

// --- options --------------------------------------------------------------------------------------

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (m === null) throw new Error(`bad size ${s}`);
  const mult = m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1;
  return Math.round(Number(m[1]) * mult);
}

interface Options {
  readonly sizes: readonly number[];
  readonly receivers: readonly ReceiverKind[];
  readonly peers: readonly number[];
  readonly attrSets: number;
  readonly kernelRoutes: number;
  readonly idleSec: number;
  readonly only: ReadonlySet<string>;
  readonly out: string;
  readonly quick: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const get = (n: string): string | undefined => {
    const i = argv.indexOf(`--${n}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const list = (n: string, def: string): string[] => (get(n) ?? def).split(',').map((x) => x.trim()).filter((x) => x !== '');
  const receivers = list('receivers', ALL_RECEIVERS.join(',')).map((r) => {
    if (!(ALL_RECEIVERS as readonly string[]).includes(r)) throw new Error(`unknown receiver ${r} (one of ${ALL_RECEIVERS.join(', ')})`);
    return r as ReceiverKind;
  });
  return {
    quick,
    sizes: list('sizes', quick ? '100k' : '100k,500k,1m').map(parseSize),
    receivers,
    peers: list('peers', quick ? '200' : '200,1000').map(parseSize),
    attrSets: parseSize(get('attr-sets') ?? '100k'),
    kernelRoutes: parseSize(get('kernel-routes') ?? '100k'),
    idleSec: Number(get('idle-sec') ?? (quick ? 10 : 30)),
    only: new Set(list('only', 'ingest,kernel,mesh')),
    out: get('out') ?? join(repoRoot(), 'bench', 'results'),
  };
}

// --- helpers --------------------------------------------------------------------------------------

/** wren's event-loop delay over [startMs, endMs] and since bgpd started. */
function eventLoopOf(r: Receiver, startMs: number, endMs: number): EventLoop | null {
  const t = r.wrenLog;
  if (t === undefined) return null;
  const w = t.window(startMs, endMs);
  const s: WrenStats | null = t.last;
  if (w === null || s === null) return null;
  return { p99Ms: w.p99Ms, maxMs: w.maxMs, sinceStartP99Ms: s.eventLoop.p99Ms, sinceStartMaxMs: s.eventLoop.maxMs };
}

interface PollResult {
  readonly atMs: number | null;
  readonly polls: number;
  readonly avgPollMs: number;
  readonly last: number;
}

/** Poll `count` until `done(count)`; the time is when the satisfying answer came back. */
async function pollUntil(r: Receiver, done: (n: number) => boolean, timeoutMs: number, intervalMs: number): Promise<PollResult> {
  const end = wall() + timeoutMs;
  let polls = 0;
  let spent = 0;
  let last = -1;
  while (wall() < end) {
    const s = wall();
    try {
      last = await r.count();
    } catch {
      // a busy daemon may not answer its CLI in time: try again
    }
    const e = wall();
    polls++;
    spent += e - s;
    if (done(last) && (r.settled === undefined || r.settled())) return { atMs: e, polls, avgPollMs: spent / polls, last };
    await sleep(Math.max(0, intervalMs - (e - s)));
  }
  return { atMs: null, polls, avgPollMs: spent / Math.max(1, polls), last };
}

function pollInterval(kind: ReceiverKind): number {
  // gobgp's accepted count walks the table per call; poll it less often (its ingest takes minutes).
  return kind === 'gobgp' ? 1000 : 100;
}

async function newLab(): Promise<{ lab: Lab; rcv: Host; feed: Host }> {
  const lab = await Lab.create();
  const rcv = await lab.addHost('rcv');
  const feed = await lab.addHost('feed');
  await lab.link(rcv, feed, { a: ['10.0.0.1/16'], b: ['10.0.0.2/16'] });
  return { lab, rcv, feed };
}

const secs = (ms: number | null): number | null => (ms === null ? null : ms / 1000);

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// --- 1. ingest ------------------------------------------------------------------------------------

async function runIngest(kind: ReceiverKind, n: number, o: Options): Promise<IngestResult> {
  const { lab, rcv, feed } = await newLab();
  const base: IngestResult = {
    receiver: kind, prefixes: n, attrSets: Math.min(o.attrSets, n), ingestSec: null, cpuSec: null, rssBefore: 0, rssAfter: 0,
    bytesPerRoute: null, withdrawSec: null, withdrawCpuSec: null, eventLoop: null, sessionLost: false, pollAvgMs: 0, polls: 0, feederSendSec: null, error: null,
  };
  let feeder: FeederClient | null = null;
  try {
    const r = makeReceiver(kind, {
      host: rcv, address: '10.0.0.1', localAs: RCV_AS, countPeer: '10.0.0.2',
      neighbors: [{ address: '10.0.0.2', remoteAs: FEED_AS, passive: true, holdTime: HOLD, keepalive: KEEPALIVE }],
    });
    await r.start();
    feeder = new FeederClient(feed.ns, ['--remote', '10.0.0.1', '--sources', '10.0.0.2', '--local-as', String(FEED_AS), '--remote-as', String(RCV_AS), '--prefixes', String(n), '--attr-sets', String(o.attrSets), '--seed', '1', '--hold', String(HOLD)], join(lab.dir, `feeder-${kind}-${n}.log`));
    await feeder.next('prepared', 300_000);
    await feeder.call('connect', 'connected', 60_000);
    await sleep(1500);
    const before: ProcSample = sample(r.pids());
    const timeout = 60_000 + n * 0.4;
    const announced = feeder.call('announce', 'announced', timeout);
    const t0 = wall();
    const p = await pollUntil(r, (c) => c >= n, timeout, pollInterval(kind));
    const ann = await announced;
    const start = Number(ann['startMs'] ?? t0);
    const after = sample(r.pids());
    const res: IngestResult = {
      ...base,
      ingestSec: p.atMs === null ? null : (p.atMs - start) / 1000,
      cpuSec: after.cpuSec - before.cpuSec,
      rssBefore: before.rss,
      rssAfter: after.rss,
      bytesPerRoute: p.atMs === null ? null : (after.rss - before.rss) / n,
      pollAvgMs: p.avgPollMs,
      polls: p.polls,
      feederSendSec: Number(ann['ms'] ?? 0) / 1000,
      error: p.atMs === null ? `timed out after ${timeout / 1000} s holding ${p.last}/${n}` : null,
    };
    if (p.atMs === null) return res;
    log(`${RECEIVER_LABEL[kind]} ${n}: ingest ${res.ingestSec?.toFixed(2)} s, ${res.cpuSec?.toFixed(2)} CPU s, ${res.bytesPerRoute?.toFixed(0)} B/route`);
    // Withdraw everything.
    const wd = feeder.call('withdraw', 'withdrawn', timeout);
    const w0 = sample(r.pids());
    const pw = await pollUntil(r, (c) => c === 0, timeout, pollInterval(kind));
    const wev = await wd;
    const w1 = sample(r.pids());
    const wstart = Number(wev['startMs'] ?? w0.atMs);
    await sleep(300);
    const loop = eventLoopOf(r, start, wall());
    const st = await feeder.call('status', 'status', 10_000);
    const established = await r.established().catch(() => false);
    const lost = feeder.drops.length > 0 || !established || (r.wrenLog?.sessionLosses.length ?? 0) > 0 || Number(st['up']) !== Number(st['total']);
    r.wrenLog?.poll();
    return {
      ...res,
      withdrawSec: pw.atMs === null ? null : (pw.atMs - wstart) / 1000,
      withdrawCpuSec: w1.cpuSec - w0.cpuSec,
      eventLoop: loop,
      sessionLost: lost,
      error: pw.atMs === null ? `withdraw timed out holding ${pw.last}` : null,
    };
  } catch (err) {
    return { ...base, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await feeder?.close();
    await lab.close().catch(() => undefined);
  }
}

// --- 2. kernel install ----------------------------------------------------------------------------

class KernelCounter {
  private readonly child;
  private readonly waiters: { want: (n: number) => boolean; resolve: (t: number) => void }[] = [];
  overrun = false;
  last = 0;
  readonly ready: Promise<void>;
  constructor(ns: string, proto: number, target: number) {
    this.child = spawn('ip', ['netns', 'exec', ns, 'node', join(repoRoot(), 'dist/bench/lib/kcount.js'), '--proto', String(proto), '--target', String(target)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let onReady: () => void = () => undefined;
    this.ready = new Promise<void>((r) => (onReady = r));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const e = JSON.parse(line) as { n?: number; t: number; ready?: boolean; overrun?: boolean; progress?: number };
      if (e.ready === true) onReady();
      if (e.overrun === true) this.overrun = true;
      if (e.progress !== undefined) this.last = e.progress;
      if (e.n !== undefined) {
        this.last = e.n;
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          if (this.waiters[i]!.want(e.n)) this.waiters.splice(i, 1)[0]!.resolve(e.t);
        }
      }
    });
  }
  wait(want: (n: number) => boolean, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), timeoutMs);
      this.waiters.push({ want, resolve: (x) => (clearTimeout(t), resolve(x)) });
    });
  }
  close(): void {
    this.child.stdin.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

async function runKernel(kind: ReceiverKind, n: number): Promise<KernelResult> {
  const { lab, rcv, feed } = await newLab();
  const base: KernelResult = { receiver: kind, routes: n, ribSec: null, kernelSec: null, rate: null, removeSec: null, cpuSec: null, eventLoop: null, sessionLost: false, overrun: false, error: null };
  let feeder: FeederClient | null = null;
  let kc: KernelCounter | null = null;
  try {
    const r = makeReceiver(kind, {
      host: rcv, address: '10.0.0.1', localAs: RCV_AS, countPeer: '10.0.0.2', kernel: true,
      neighbors: [{ address: '10.0.0.2', remoteAs: FEED_AS, passive: true, holdTime: HOLD, keepalive: KEEPALIVE }],
    });
    await r.start();
    kc = new KernelCounter(rcv.ns, KERNEL_PROTO[kind], n);
    await kc.ready;
    feeder = new FeederClient(feed.ns, ['--remote', '10.0.0.1', '--sources', '10.0.0.2', '--local-as', String(FEED_AS), '--remote-as', String(RCV_AS), '--prefixes', String(n), '--slash26-base', '20.0.0.0', '--hold', String(HOLD)], join(lab.dir, `feeder-k-${kind}.log`));
    await feeder.next('prepared', 120_000);
    await feeder.call('connect', 'connected', 60_000);
    await sleep(1500);
    const before = sample(r.pids());
    const timeout = 180_000;
    const inKernel = kc.wait((c) => c >= n, timeout);
    const announced = feeder.call('announce', 'announced', timeout);
    const p = await pollUntil(r, (c) => c >= n, timeout, pollInterval(kind));
    const ann = await announced;
    const start = Number(ann['startMs']);
    const kt = await inKernel;
    const after = sample(r.pids());
    const kernelSec = kt === null ? null : (kt - start) / 1000;
    log(`${RECEIVER_LABEL[kind]} kernel ${n}: RIB ${secs(p.atMs === null ? null : p.atMs - start)?.toFixed(2)} s, kernel ${kernelSec?.toFixed(2)} s`);
    const gone = kc.wait((c) => c === 0, timeout);
    const wd = await feeder.call('withdraw', 'withdrawn', timeout);
    const gt = await gone;
    await sleep(300);
    const loop = eventLoopOf(r, start, wall());
    const established = await r.established().catch(() => false);
    return {
      ...base,
      ribSec: p.atMs === null ? null : (p.atMs - start) / 1000,
      kernelSec,
      rate: kernelSec === null ? null : n / kernelSec,
      removeSec: gt === null ? null : (gt - Number(wd['startMs'])) / 1000,
      cpuSec: after.cpuSec - before.cpuSec,
      eventLoop: loop,
      sessionLost: feeder.drops.length > 0 || !established,
      overrun: kc.overrun,
      error: kt === null ? `kernel held ${kc.last}/${n} after ${timeout / 1000} s` : null,
    };
  } catch (err) {
    return { ...base, error: err instanceof Error ? err.message : String(err) };
  } finally {
    kc?.close();
    await feeder?.close();
    await lab.close().catch(() => undefined);
  }
}

// --- 3. mesh --------------------------------------------------------------------------------------

async function runMesh(m: number, o: Options): Promise<MeshResult> {
  const { lab, rcv, feed } = await newLab();
  const base: MeshResult = { peers: m, connectSec: null, convergeSec: null, probeMs: null, probeP50Ms: null, idleCpuPct: null, rss: 0, eventLoop: null, sessionsUp: 0, drops: 0, error: null };
  let feeder: FeederClient | null = null;
  try {
    const first = parseIpv4('10.0.16.1')!;
    const addrs = Array.from({ length: m }, (_, i) => formatIpv4((first + i) >>> 0));
    const batch = join(lab.dir, 'addrs.batch');
    // The M addresses live on the feeder's loopback, routed via its link address: wren's side
    // then needs one neighbour entry, not M (the kernel's neighbour table is shared by every
    // namespace and overflows at gc_thresh3 = 1024 entries, which drops SYNs and keepalives).
    writeFileSync(batch, addrs.map((a) => `addr add ${a}/32 dev lo`).join('\n') + '\n');
    await feed.ip(['-batch', batch]);
    await rcv.ip(['route', 'add', '10.0.16.0/20', 'via', '10.0.0.2']);
    const r = makeReceiver('wren', {
      host: rcv, address: '10.0.0.1', localAs: RCV_AS, countPeer: addrs[0]!, clusterId: '10.0.0.1',
      neighbors: addrs.map((a) => ({ address: a, remoteAs: RCV_AS, passive: true, holdTime: HOLD, keepalive: KEEPALIVE, routeReflectorClient: true })),
    });
    await r.start();
    feeder = new FeederClient(feed.ns, ['--mode', 'mesh', '--remote', '10.0.0.1', '--source-base', '10.0.16.1', '--peers', String(m), '--local-as', String(RCV_AS), '--remote-as', String(RCV_AS), '--mesh-base', '172.16.0.0', '--hold', String(HOLD)], join(lab.dir, `feeder-mesh-${m}.log`));
    await feeder.next('prepared', 60_000);
    const c = await feeder.call('connect', 'connected', 300_000);
    log(`mesh ${m}: ${m} sessions up in ${(Number(c['ms']) / 1000).toFixed(2)} s`);
    await sleep(1000);
    const ann = await feeder.call('announce', 'announced', 300_000);
    const conv = await feeder.call('meshConverged', 'meshConverged', 600_000, { timeoutMs: 580_000 });
    const convergeSec = (Number(conv['atMs']) - Number(ann['startMs'])) / 1000;
    log(`mesh ${m}: converged in ${convergeSec.toFixed(2)} s`);
    await sleep(2000);
    const probe = await feeder.call('probe', 'probe', 120_000, { timeoutMs: 110_000 });
    log(`mesh ${m}: probe reached all in ${Number(probe['ms']).toFixed(0)} ms`);
    await sleep(5000);
    const s0 = sample(r.pids());
    await sleep(o.idleSec * 1000);
    const s1 = sample(r.pids());
    const st = await feeder.call('status', 'status', 10_000);
    const loop = eventLoopOf(r, Number(c['startMs']), wall());
    return {
      ...base,
      connectSec: Number(c['ms']) / 1000,
      convergeSec,
      probeMs: Number(probe['ms']),
      probeP50Ms: Number(probe['p50Ms']),
      idleCpuPct: ((s1.cpuSec - s0.cpuSec) / ((s1.atMs - s0.atMs) / 1000)) * 100,
      rss: s1.rss,
      eventLoop: loop,
      sessionsUp: Number(st['up']),
      drops: feeder.drops.length + (r.wrenLog?.sessionLosses.length ?? 0),
    };
  } catch (err) {
    return { ...base, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await feeder?.close();
    await lab.close().catch(() => undefined);
  }
}

// --- versions and machine ---------------------------------------------------------------------------

/** stdout and stderr of a command (BIRD prints its version on stderr), '' if it cannot run. */
function tryRun(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function versions(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  const bird1 = join(process.env['WREN_BIRD1_DIR'] ?? join(repoRoot(), '.cache', 'bird1'), 'usr/sbin/bird');
  return {
    wren: `${pkg.version} (${tryRun('git', ['-C', repoRoot(), 'rev-parse', '--short', 'HEAD'])}${tryRun('git', ['-C', repoRoot(), 'status', '--porcelain']) === '' ? '' : '+dirty'})`,
    node: process.version,
    bird2: tryRun('bird', ['--version']).replace(/^BIRD version /, ''),
    bird1: tryRun(bird1, ['--version']).replace(/^BIRD version /, ''),
    frr: /version (\S+)/.exec(tryRun('/usr/lib/frr/bgpd', ['--version']))?.[1] ?? '?',
    gobgp: /version (\S+)/.exec(tryRun('gobgpd', ['--version']))?.[1] ?? '?',
  };
}

function machine(): Record<string, string | number> {
  const mem = /Mem:\s+(\d+)/.exec(tryRun('free', ['-b']))?.[1];
  return {
    hostname: hostname(),
    nproc: Number(tryRun('nproc', [])),
    cpu: cpus()[0]?.model ?? '?',
    memTotalBytes: Number(mem ?? 0),
    free: tryRun('free', ['-m']),
    kernel: tryRun('uname', ['-r']),
  };
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const kinds = new Set<DaemonKind>();
  for (const r of o.receivers) if (r !== 'wren') kinds.add(r);
  const avail = await labAvailable([...kinds]);
  if (!avail.ok) throw new Error(`lab not available: ${avail.reasons.join('; ')}`);
  process.env['WREN_STATS_INTERVAL_MS'] = '100';
  const started = new Date();
  const results: BenchResults = {
    date: started.toISOString(),
    options: { sizes: o.sizes, receivers: o.receivers, peers: o.peers, attrSets: o.attrSets, kernelRoutes: o.kernelRoutes, idleSec: o.idleSec, quick: o.quick, holdSec: HOLD },
    versions: versions(),
    machine: machine(),
    ingest: [],
    kernel: [],
    mesh: [],
    durationSec: 0,
  };
  if (o.only.has('ingest')) {
    for (const n of o.sizes) {
      for (const k of o.receivers) {
        log(`ingest: ${RECEIVER_LABEL[k]} ${n} prefixes`);
        const r = await runIngest(k, n, o);
        if (r.error !== null) log(`  ${r.error}`);
        results.ingest.push(r);
      }
    }
  }
  if (o.only.has('kernel')) {
    for (const k of o.receivers.filter((x) => x === 'wren' || x === 'bird2' || x === 'frr')) {
      log(`kernel: ${RECEIVER_LABEL[k]} ${o.kernelRoutes} routes`);
      const r = await runKernel(k, o.kernelRoutes);
      if (r.error !== null) log(`  ${r.error}`);
      results.kernel.push(r);
    }
  }
  if (o.only.has('mesh') && o.receivers.includes('wren')) {
    for (const m of o.peers) {
      log(`mesh: wren with ${m} peers`);
      const r = await runMesh(m, o);
      if (r.error !== null) log(`  ${r.error}`);
      results.mesh.push(r);
    }
  }
  results.durationSec = (Date.now() - started.getTime()) / 1000;
  const md = renderMarkdown(results);
  mkdirSync(o.out, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(o.out, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(o.out, `bench-${stamp}.md`), md);
  writeFileSync(join(o.out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(o.out, 'latest.md'), md);
  process.stdout.write(md);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
