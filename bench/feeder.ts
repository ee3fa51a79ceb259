#!/usr/bin/env node
/**
 * The benchmark feeder: pre-encodes a synthetic table (bench/lib/table.ts) and blasts it over
 * real BGP sessions, as one peer (full-table ingest) or as M peers from M source addresses
 * (mesh scale: each announces one /26 and measures when every other session has received it).
 *
 * Library: `new Feeder(opts)`, `prepare()`, `connect()`, `announce()`, `withdraw()`, `probe()`.
 * CLI (JSON lines; events on stdout, commands on stdin when --control):
 *   node dist/bench/feeder.js --remote 10.0.0.1 --local-as 65001 --remote-as 65000 \
 *     [--sources 10.0.0.2,...|--source-base 10.1.0.1 --peers M] [--mode table|mesh]
 *     [--prefixes N] [--v6-prefixes N --remote6 ADDR --source6 ADDR] [--attr-sets K] [--seed S]
 *     [--hold 90] [--next-hop ADDR] [--withdraw-after SEC] [--control]
 * Without --control: connect, announce (then End-of-RIB), keep alive; with --withdraw-after,
 * withdraw everything after that many seconds; runs until SIGINT/SIGTERM.
 * With --control, stdin takes {"cmd":"connect"|"announce"|"withdraw"|"probe"|"status"|"quit"}.
 */
import process from 'node:process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { encodeEndOfRib, packUpdates } from '../proto/packer.js';
import { formatIpv4, formatPrefix, parseIpv4 } from '../proto/prefix.js';
import type { Prefix } from '../proto/prefix.js';
import { Family } from '../proto/types.js';
import type { Buffer } from 'node:buffer';
import { FeederSession, wallMs } from './lib/session.js';
import { chunkFrames, encodeAnnouncements, encodeWithdrawals, genTable, nthSlash26, simpleGroup } from './lib/table.js';
import type { Encoded, Table } from './lib/table.js';

export interface FeederOptions {
  readonly remote: string;
  readonly port?: number;
  /** IPv4 source address of each session (its length is M); empty: one session, kernel-chosen source. */
  readonly sources: readonly string[];
  readonly localAs: number;
  /** The receiver's AS (kept out of generated AS paths; equal to localAs means iBGP). */
  readonly remoteAs: number;
  readonly holdTimeSec?: number;
  readonly mode: 'table' | 'mesh';
  /** table mode */
  readonly prefixes?: number;
  readonly attrSets?: number;
  readonly seed?: number;
  /** IPv4 next hop of the table (default: the first source). */
  readonly nextHop?: string;
  /** Fixed table of /26s from this base instead of a random one (kernel install runs). */
  readonly slash26Base?: string;
  /** IPv6 table over a second session (remote6/source6), same options. */
  readonly v6Prefixes?: number;
  readonly remote6?: string;
  readonly source6?: string;
  /** mesh mode: block i is the i-th /26 from this base; the probe block is the M-th. */
  readonly meshBase?: string;
  /** Sessions connected at once while bringing M peers up. */
  readonly connectConcurrency?: number;
}

export interface TimedResult {
  readonly startMs: number;
  readonly endMs: number;
  readonly ms: number;
}

function routerIdFor(source: string | undefined, i: number): string {
  if (source !== undefined && !source.includes(':')) return source;
  return formatIpv4((0x0a_fe_00_00 + i + 1) >>> 0);
}

export class Feeder extends EventEmitter {
  readonly sessions: FeederSession[] = [];
  session6: FeederSession | null = null;
  table: Table | null = null;
  private ann4: Encoded | null = null;
  private wd4: Encoded | null = null;
  private ann6: Encoded | null = null;
  private wd6: Encoded | null = null;
  private meshFrames: Buffer[][] = [];
  readonly blocks: Prefix[] = [];
  prepareMs = 0;
  /** Sessions that went down after Established without us closing them. */
  readonly drops: { peer: number; reason: string; atMs: number }[] = [];

  constructor(readonly opts: FeederOptions) {
    super();
  }

  get ibgp(): boolean {
    return this.opts.localAs === this.opts.remoteAs;
  }

  private ctx(): { fourOctetAs: boolean; extendedMessage: boolean; addPath: Set<number> } {
    // Every receiver we bench speaks 4-octet AS; the sessions confirm it (checked in connect()).
    return { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
  }

  /** Generate and encode everything to send (not part of any timing). */
  prepare(): { messages: number; bytes: number; ms: number } {
    const t0 = performance.now();
    const o = this.opts;
    const ctx = this.ctx();
    let messages = 0;
    let bytes = 0;
    if (o.mode === 'table') {
      const firstAs = this.ibgp ? null : o.localAs;
      if (o.slash26Base !== undefined) {
        const base = parseIpv4(o.slash26Base) ?? 0;
        const ps: Prefix[] = Array.from({ length: o.prefixes ?? 0 }, (_, i) => nthSlash26(base, i));
        const t: Table = {
          v4: { family: Family.Ipv4Unicast, groups: [simpleGroup(ps, firstAs)], prefixes: ps as number[] },
          v6: { family: Family.Ipv6Unicast, groups: [], prefixes: [] },
        };
        this.table = t;
      } else {
        this.table = genTable({
          seed: o.seed ?? 1,
          v4: o.prefixes ?? 0,
          v6: o.v6Prefixes ?? 0,
          attrSets: o.attrSets ?? 100_000,
          firstAs: o.localAs,
          avoidAs: [o.remoteAs],
        });
      }
      const nh = parseIpv4(o.nextHop ?? o.sources[0] ?? '') ?? 0;
      if (nh === 0) throw new Error('table mode needs --next-hop or a source address');
      this.ann4 = encodeAnnouncements(this.table.v4, nh, ctx);
      this.wd4 = encodeWithdrawals(this.table.v4, ctx);
      messages += this.ann4.messages;
      bytes += this.ann4.bytes;
      if (this.table.v6.prefixes.length > 0) {
        if (o.source6 === undefined) throw new Error('an IPv6 table needs --source6 (its next hop)');
        this.ann6 = encodeAnnouncements(this.table.v6, o.source6, ctx);
        this.wd6 = encodeWithdrawals(this.table.v6, ctx);
        messages += this.ann6.messages;
        bytes += this.ann6.bytes;
      }
    } else {
      const base = parseIpv4(o.meshBase ?? '172.16.0.0') ?? 0;
      const m = o.sources.length;
      for (let i = 0; i <= m; i++) this.blocks.push(nthSlash26(base, i));
      const firstAs = this.ibgp ? null : o.localAs;
      for (let i = 0; i < m; i++) {
        const frames: Buffer[] = [];
        const nh = parseIpv4(o.sources[i]!) ?? 0;
        packUpdates(Family.Ipv4Unicast, [], [{ ...simpleGroup([this.blocks[i]!], firstAs), nextHop: nh }], ctx, (b) => frames.push(b));
        frames.push(encodeEndOfRib(Family.Ipv4Unicast, ctx));
        messages += frames.length;
        bytes += frames.reduce((n, b) => n + b.length, 0);
        this.meshFrames.push(chunkFrames(frames));
      }
    }
    this.prepareMs = performance.now() - t0;
    return { messages, bytes, ms: this.prepareMs };
  }

  /** Open every session (bounded concurrency); resolves when all are Established. */
  async connect(): Promise<TimedResult> {
    const o = this.opts;
    const startMs = wallMs();
    const sources = o.sources.length === 0 ? [undefined] : o.sources;
    const mk = (src: string | undefined, i: number, remote: string, family: 4 | 6): FeederSession => {
      const s = new FeederSession({
        remote,
        ...(o.port === undefined ? {} : { port: o.port }),
        ...(src === undefined ? {} : { local: src }),
        localAs: o.localAs,
        routerId: routerIdFor(src, i),
        holdTimeSec: o.holdTimeSec ?? 90,
        families: [family],
        trackReceived: o.mode === 'mesh',
      });
      s.on('down', (d: { reason: string; atMs: number }, unexpected: boolean) => {
        if (!unexpected) return;
        this.drops.push({ peer: i, reason: d.reason, atMs: d.atMs });
        this.emit('drop', i, d.reason);
      });
      return s;
    };
    sources.forEach((src, i) => this.sessions.push(mk(src, i, o.remote, 4)));
    if (o.remote6 !== undefined && (o.v6Prefixes ?? 0) > 0) this.session6 = mk(o.source6, sources.length, o.remote6, 6);
    const all = [...this.sessions, ...(this.session6 === null ? [] : [this.session6])];
    const conc = o.connectConcurrency ?? 64;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < all.length) {
        const s = all[next++]!;
        // The receiver may not listen yet, or refuse while busy: retry for a while.
        for (let attempt = 0; ; attempt++) {
          try {
            await s.connect();
            break;
          } catch (err) {
            if (attempt >= 60) throw err;
            await new Promise((r) => setTimeout(r, 500));
            s.removeAllListeners('established');
            s.state = 'Idle';
            s.down = null;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(conc, all.length) }, () => worker()));
    for (const s of all) if (!s.rx.fourOctetAs) throw new Error('the receiver did not offer 4-octet AS');
    const endMs = wallMs();
    return { startMs, endMs, ms: endMs - startMs };
  }

  /** table: send the whole table and End-of-RIB (resolves when the kernel took the last byte). mesh: every block. */
  async announce(): Promise<TimedResult> {
    const startMs = wallMs();
    if (this.opts.mode === 'table') {
      const jobs: Promise<void>[] = [];
      if (this.ann4 !== null) jobs.push(this.sessions[0]!.writeAll(this.ann4.chunks));
      if (this.ann6 !== null && this.session6 !== null) jobs.push(this.session6.writeAll(this.ann6.chunks));
      await Promise.all(jobs);
    } else {
      await Promise.all(this.sessions.map((s, i) => s.writeAll(this.meshFrames[i]!)));
    }
    const endMs = wallMs();
    return { startMs, endMs, ms: endMs - startMs };
  }

  async withdraw(): Promise<TimedResult> {
    const startMs = wallMs();
    const jobs: Promise<void>[] = [];
    if (this.wd4 !== null) jobs.push(this.sessions[0]!.writeAll(this.wd4.chunks));
    if (this.wd6 !== null && this.session6 !== null) jobs.push(this.session6.writeAll(this.wd6.chunks));
    await Promise.all(jobs);
    const endMs = wallMs();
    return { startMs, endMs, ms: endMs - startMs };
  }

  /** mesh: wait until every session holds every other session's block. */
  meshConverged(timeoutMs: number): Promise<number> {
    const m = this.sessions.length;
    // O(1) per event (a scan of the received set per UPDATE is O(M^2) per session): the mesh
    // carries nothing but the blocks, so what a session holds is every block but maybe its own.
    const count = (s: FeederSession, i: number): number => s.received.size - (s.received.has(this.blocks[i]!) ? 1 : 0);
    return new Promise<number>((resolve, reject) => {
      const done = new Set<number>();
      const check = (i: number): void => {
        if (done.has(i)) return;
        if (count(this.sessions[i]!, i) >= m - 1) done.add(i);
        if (done.size === m) {
          cleanup();
          resolve(wallMs());
        }
      };
      const handlers = this.sessions.map((s, i) => {
        const h = (): void => check(i);
        s.on('prefixes', h);
        return h;
      });
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`mesh: ${done.size}/${m} sessions converged after ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.sessions.forEach((s, i) => s.off('prefixes', handlers[i]!));
      };
      for (let i = 0; i < m; i++) check(i);
    });
  }

  /** mesh: session 0 announces one new block; resolves with the time until every other session has it. */
  async probe(timeoutMs: number): Promise<TimedResult & { readonly p50Ms: number }> {
    const m = this.sessions.length;
    const block = this.blocks[m]!;
    const arrivals: number[] = [];
    const got = new Set<number>();
    const wait = new Promise<number>((resolve, reject) => {
      const handlers = this.sessions.map((s, i) => {
        const h = (added: readonly Prefix[], at: number): void => {
          if (i === 0 || got.has(i) || !added.includes(block)) return;
          got.add(i);
          arrivals.push(at);
          if (got.size === m - 1) {
            cleanup();
            resolve(at);
          }
        };
        s.on('prefixes', h);
        return h;
      });
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`probe ${formatPrefix(block)}: reached ${got.size}/${m - 1} sessions in ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.sessions.forEach((s, i) => s.off('prefixes', handlers[i]!));
      };
    });
    const frames: Buffer[] = [];
    const s0 = this.sessions[0]!;
    packUpdates(Family.Ipv4Unicast, [], [{ ...simpleGroup([block], this.ibgp ? null : this.opts.localAs), nextHop: parseIpv4(this.opts.sources[0]!) ?? 0 }], s0.tx, (b) => frames.push(b));
    const startMs = wallMs();
    for (const f of frames) await s0.write(f);
    const endMs = await wait;
    arrivals.sort((a, b) => a - b);
    const p50 = arrivals[Math.floor(arrivals.length / 2)] ?? endMs;
    return { startMs, endMs, ms: endMs - startMs, p50Ms: p50 - startMs };
  }

  status(): { up: number; total: number; drops: number; maxGapMs: number; received: number } {
    const all = [...this.sessions, ...(this.session6 === null ? [] : [this.session6])];
    return {
      up: all.filter((s) => s.state === 'Established').length,
      total: all.length,
      drops: this.drops.length,
      maxGapMs: Math.max(0, ...all.map((s) => s.maxGapMs)),
      received: all.reduce((n, s) => n + s.received.size, 0),
    };
  }

  close(): void {
    for (const s of this.sessions) s.cease();
    this.session6?.cease();
  }
}

// --- CLI ------------------------------------------------------------------------------------------

function parseArgs(argv: readonly string[]): { opts: FeederOptions; control: boolean; withdrawAfter: number | null } {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, def: number): number => {
    const v = get(name);
    return v === undefined ? def : Number(v);
  };
  const remote = get('remote');
  if (remote === undefined) throw new Error('--remote ADDR is required');
  let sources = (get('sources') ?? '').split(',').filter((x) => x !== '');
  const base = get('source-base');
  if (base !== undefined) {
    const b = parseIpv4(base) ?? 0;
    sources = Array.from({ length: num('peers', 1) }, (_, i) => formatIpv4((b + i) >>> 0));
  }
  const mode = get('mode') === 'mesh' ? 'mesh' : 'table';
  const nextHop = get('next-hop');
  const remote6 = get('remote6');
  const source6 = get('source6');
  const slash26 = get('slash26-base');
  const opts: FeederOptions = {
    remote,
    port: num('port', 179),
    sources,
    localAs: num('local-as', 65001),
    remoteAs: num('remote-as', 65000),
    holdTimeSec: num('hold', 90),
    mode,
    prefixes: num('prefixes', 100_000),
    attrSets: num('attr-sets', 10_000),
    seed: num('seed', 1),
    v6Prefixes: num('v6-prefixes', 0),
    meshBase: get('mesh-base') ?? '172.16.0.0',
    connectConcurrency: num('connect-concurrency', 64),
    ...(nextHop === undefined ? {} : { nextHop }),
    ...(remote6 === undefined ? {} : { remote6 }),
    ...(source6 === undefined ? {} : { source6 }),
    ...(slash26 === undefined ? {} : { slash26Base: slash26 }),
  };
  const wa = get('withdraw-after');
  return { opts, control: argv.includes('--control'), withdrawAfter: wa === undefined ? null : Number(wa) };
}

function emit(ev: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, t: wallMs(), ...data })}\n`);
}

async function main(): Promise<void> {
  const { opts, control, withdrawAfter } = parseArgs(process.argv.slice(2));
  const f = new Feeder(opts);
  f.on('drop', (peer: number, reason: string) => emit('drop', { peer, reason }));
  const prep = f.prepare();
  emit('prepared', prep);
  const quit = (): void => {
    f.close();
    setTimeout(() => process.exit(0), 200);
  };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  if (!control) {
    const c = await f.connect();
    emit('connected', { ...c, sessions: f.sessions.length });
    const a = await f.announce();
    emit('announced', { ...a });
    if (opts.mode === 'mesh') emit('meshConverged', { atMs: await f.meshConverged(600_000) });
    if (withdrawAfter !== null) {
      await new Promise((r) => setTimeout(r, withdrawAfter * 1000));
      emit('withdrawn', { ...(await f.withdraw()) });
    }
    return;
  }
  const rl = createInterface({ input: process.stdin });
  rl.on('close', quit);
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let cmd: { cmd?: string; timeoutMs?: number };
    try {
      cmd = JSON.parse(line) as { cmd?: string; timeoutMs?: number };
    } catch {
      emit('error', { message: `bad command ${line}` });
      continue;
    }
    try {
      switch (cmd.cmd) {
        case 'connect':
          emit('connected', { ...(await f.connect()), sessions: f.sessions.length });
          break;
        case 'announce':
          emit('announced', { ...(await f.announce()) });
          break;
        case 'withdraw':
          emit('withdrawn', { ...(await f.withdraw()) });
          break;
        case 'meshConverged':
          emit('meshConverged', { atMs: await f.meshConverged(cmd.timeoutMs ?? 600_000) });
          break;
        case 'probe':
          emit('probe', { ...(await f.probe(cmd.timeoutMs ?? 60_000)) });
          break;
        case 'status':
          emit('status', f.status());
          break;
        case 'quit':
          quit();
          return;
        default:
          emit('error', { message: `unknown command ${String(cmd.cmd)}` });
      }
    } catch (err) {
      emit('error', { message: err instanceof Error ? err.message : String(err) });
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`feeder: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
