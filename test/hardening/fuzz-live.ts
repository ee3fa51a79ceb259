/**
 * Live fuzzing: mutated UPDATEs (test/proto/fuzz.ts's mutator over gen.ts messages and the
 * malformed table) sent through real BGP sessions into a running bgpd over TCP on 127.0.0.0/8.
 *
 * Each input is first judged by the codec the way wren's session driver judges it (framer header
 * check, then decodeUpdate): fatal (NOTIFICATION expected, with that code/subcode) or not. Fatal
 * inputs are kept with probability 1/resetEvery so most of the run exercises the session, RIB and
 * export paths instead of wren's error-wait back-off; each fatal input ends its connection and the
 * fuzz peer reconnects. Oracles:
 * - bgpd never exits; its control socket answers `show status` throughout (latency recorded);
 * - a non-fatal input never resets the session, a fatal one always does, with the predicted
 *   code/subcode (RFC 7606 AFI/SAFI disable = 3/9 too);
 * - a witness peer's session (and its route) stays up the whole run: its hold timer never fires;
 * - RSS stays flat (sampled every second; growth after warm-up is reported and bounded by the caller).
 */
import { Buffer } from 'node:buffer';
import { HEADER_LEN, MessageType } from '../../proto/constants.js';
import { isBgpError } from '../../proto/errors.js';
import { checkFrame } from '../../proto/header.js';
import { decodeUpdate, encodeUpdate } from '../../proto/update.js';
import type { CodecContext } from '../../proto/types.js';
import { Rng, genUpdate } from '../proto/gen.js';
import { expandHex, loadMalformed, mutate } from '../proto/fuzz.js';
import { RawBgp } from './lib/raw-bgp.js';
import { LocalWren, ctl, ctlNeighbor, pathsFrom, rssKiB, sleep } from './lib/wren-proc.js';

export interface LiveFuzzOptions {
  readonly count: number;
  readonly seed: number;
  /** About one input in this many is a fatal one (default 250). */
  readonly resetEvery?: number;
  /** Fuzz peers in parallel (default 4): one waits out wren's error-wait while others send. */
  readonly peers?: number;
  readonly progress?: (line: string) => void;
  /** Epoch ms: stop sending when past it (the report says timedOut). */
  readonly deadline?: number;
  /** Called with bgpd's pid once it runs (so a caller's last-resort timer can kill it). */
  readonly onStart?: (pid: number) => void;
}

export interface Finding {
  readonly kind: 'unexpected-reset' | 'missed-reset' | 'wrong-notification' | 'control-timeout' | 'daemon-exit' | 'witness-down';
  readonly detail: string;
  /** The index (0-based, in sending order) of the last input sent on that connection. */
  readonly index?: number;
  /** The last inputs sent on that connection, hex, newest last. */
  readonly recent?: readonly string[];
  readonly ctx?: { readonly fourOctetAs: boolean; readonly addPath: boolean };
}

export interface LiveFuzzReport {
  readonly seed: number;
  readonly count: number;
  readonly sent: number;
  readonly fatalSent: number;
  readonly connections: number;
  readonly notifications: Readonly<Record<string, number>>;
  readonly elapsedSec: number;
  readonly perSec: number;
  readonly rssKiB: { readonly start: number; readonly warm: number; readonly max: number; readonly end: number };
  readonly control: { readonly polls: number; readonly maxMs: number; readonly failures: number };
  readonly witness: { readonly sinceUnchanged: boolean; readonly routePresent: boolean; readonly state: string };
  readonly alive: boolean;
  /** Stopped at the deadline before `count` inputs were sent. */
  readonly timedOut: boolean;
  /** Sessions configured on bgpd: the fuzz peers and the witness. */
  readonly sessions: number;
  readonly findings: readonly Finding[];
}

type Verdict = { readonly fatal: false } | { readonly fatal: true; readonly code: number; readonly subcode: number };

/** What wren's session driver does with this frame (peer.ts: Framer header check, decodeUpdate, RFC 7606 AFI/SAFI disable). */
export function verdict(frame: Buffer, ctx: CodecContext): Verdict {
  try {
    checkFrame(frame, false);
    const o = decodeUpdate(frame, ctx);
    if (o.disableFamilies.length > 0) return { fatal: true, code: 3, subcode: 9 };
    return { fatal: false };
  } catch (e) {
    if (isBgpError(e)) return { fatal: true, code: e.code, subcode: e.subcode };
    throw e;
  }
}

function honest(b: Buffer): Buffer {
  const f = Buffer.from(b);
  if (f.length >= HEADER_LEN) {
    f.writeUInt16BE(Math.min(f.length, 0xffff), 16);
    f[18] = MessageType.Update;
  }
  return f;
}

const WITNESS = '127.0.0.3';
const WITNESS_PREFIX = '10.99.0.0/24';

export async function runLiveFuzz(opts: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const resetEvery = opts.resetEvery ?? 250;
  const nPeers = opts.peers ?? 4;
  const fuzzAddrs = Array.from({ length: nPeers }, (_, i) => `127.0.0.${10 + i}`);
  const wren = new LocalWren([{ address: WITNESS, asn: 65002 }, ...fuzzAddrs.map((a) => ({ address: a, asn: 65001 }))]);
  const findings: Finding[] = [];
  const notifications: Record<string, number> = {};
  let sent = 0;
  let fatalSent = 0;
  let connections = 0;
  const started = Date.now();
  const rss = { start: 0, warm: 0, max: 0, end: 0 };
  const control = { polls: 0, maxMs: 0, failures: 0 };
  let stop = false;
  let timedOut = false;
  const pastDeadline = (): boolean => {
    if (opts.deadline !== undefined && Date.now() > opts.deadline) timedOut = true;
    return timedOut;
  };
  try {
    await wren.start();
    opts.onStart?.(wren.pid);
    const target = (local: string) => ({ host: '127.0.0.1', port: wren.port, localAddress: local });
    // The witness: an ordinary peer with one route, which must never notice the fuzzing.
    const witness = await RawBgp.establish(() => RawBgp.tcp(target(WITNESS)), { asn: 65002, bgpId: '10.0.0.3', holdTimeSec: 9 });
    await witness.writeDrained(witness.announce([WITNESS_PREFIX], { origin: 0, asPath: [{ type: 2, asns: [65002] }], nextHop: 0x7f000003 }));
    const witnessSince = await waitRoute(wren.socket, WITNESS_PREFIX, WITNESS);
    rss.start = rssKiB(wren.pid) ?? 0;

    // Seeds: valid generated UPDATEs per context, plus the malformed table.
    const rng = new Rng(opts.seed);
    const ctxs: CodecContext[] = [];
    for (const four of [true, false]) for (const ap of [false, true]) ctxs.push({ fourOctetAs: four, extendedMessage: false, addPath: new Set(ap ? [257] : []) });
    const seeds = new Map<CodecContext, Buffer[]>();
    const malformed = loadMalformed().map((r) => expandHex(r.hex));
    for (const ctx of ctxs) {
      const list: Buffer[] = [];
      for (let i = 0; i < 128; i++) {
        try {
          list.push(encodeUpdate(genUpdate(rng, ctx), ctx));
        } catch {
          // too large for one message
        }
      }
      seeds.set(ctx, [...list, ...malformed.filter((m) => m.length <= 4096)]);
    }

    const pick = (ctx: CodecContext, wantFatal: boolean): { frame: Buffer; v: Verdict } => {
      const pool = seeds.get(ctx)!;
      for (let tries = 0; ; tries++) {
        const frame = honest(mutate(rng, rng.pick(pool), pool));
        const v = verdict(frame, ctx);
        if (v.fatal === wantFatal || tries > 500) return { frame, v };
      }
    };

    // Control socket and RSS sampler.
    const sampler = (async () => {
      while (!stop) {
        const t0 = Date.now();
        try {
          const r = await ctl(wren.socket, 'show status', undefined, 10_000);
          if (!r.ok) throw new Error(r.error ?? 'not ok');
          control.polls++;
          control.maxMs = Math.max(control.maxMs, Date.now() - t0);
        } catch (e) {
          control.failures++;
          if (!wren.running) {
            findings.push({ kind: 'daemon-exit', detail: `bgpd exited ${JSON.stringify(wren.exit)}: ${wren.output.slice(-2000)}` });
            stop = true;
            return;
          }
          findings.push({ kind: 'control-timeout', detail: e instanceof Error ? e.message : String(e) });
        }
        const r = rssKiB(wren.pid);
        if (r !== null) {
          rss.max = Math.max(rss.max, r);
          if (rss.warm === 0 && sent >= opts.count / 5) rss.warm = r;
        }
        await sleep(1000);
      }
    })();

    let lastReport = Date.now();
    const worker = async (addr: string): Promise<void> => {
      while (!stop && sent < opts.count && !pastDeadline()) {
        const ctx = rng.pick(ctxs);
        const ctxDesc = { fourOctetAs: ctx.fourOctetAs, addPath: ctx.addPath.size > 0 };
        let conn: RawBgp;
        try {
          conn = await RawBgp.establish(() => RawBgp.tcp(target(addr)), { asn: 65001, bgpId: `10.1.0.${addrIndex(addr)}`, holdTimeSec: 30, fourOctetAs: ctx.fourOctetAs, addPath: [...ctx.addPath] }, 60_000);
        } catch (e) {
          if (!wren.running) return;
          throw e;
        }
        connections++;
        const recent: string[] = [];
        try {
          for (;;) {
            if (stop || sent >= opts.count || pastDeadline()) break;
            const wantFatal = rng.int(resetEvery) === 0;
            const { frame, v } = pick(ctx, wantFatal);
            recent.push(frame.toString('hex'));
            if (recent.length > 16) recent.shift();
            await conn.writeDrained(frame);
            const index = sent++;
            if (conn.notifications().length > 0 || !conn.isOpen) {
              await sleep(100);
              const n = conn.notifications()[0];
              findings.push({ kind: 'unexpected-reset', detail: n === undefined ? 'connection closed without NOTIFICATION' : `NOTIFICATION ${n.code}/${n.subcode} data ${n.data ?? ''}`, index, recent: [...recent], ctx: ctxDesc });
              break;
            }
            if (v.fatal) {
              fatalSent++;
              let n;
              try {
                n = await conn.waitFor(() => conn.notifications()[0], 20_000, 'NOTIFICATION for a fatal input');
              } catch (e) {
                findings.push({ kind: 'missed-reset', detail: `expected ${v.code}/${v.subcode}: ${e instanceof Error ? e.message : String(e)}`, index, recent: [...recent], ctx: ctxDesc });
                break;
              }
              const key = `${n.code ?? '?'}/${n.subcode ?? '?'}`;
              notifications[key] = (notifications[key] ?? 0) + 1;
              if (n.code !== v.code || n.subcode !== v.subcode) {
                findings.push({ kind: 'wrong-notification', detail: `expected ${v.code}/${v.subcode}, got ${key} data ${n.data ?? ''}`, index, recent: [...recent], ctx: ctxDesc });
              }
              break;
            }
            if (Date.now() - lastReport > 10_000) {
              lastReport = Date.now();
              opts.progress?.(`${sent}/${opts.count} sent, ${fatalSent} resets, ${connections} connections, rss ${((rssKiB(wren.pid) ?? 0) / 1024).toFixed(1)} MiB, control max ${control.maxMs} ms, ${findings.length} findings`);
            }
          }
        } finally {
          await conn.end(2000);
        }
        if (findings.length >= 20) stop = true;
      }
    };
    await Promise.all(fuzzAddrs.map((a) => worker(a)));
    stop = true;
    await sampler;

    // After the storm: the witness never flapped and its route is there; a fresh session works.
    let sinceUnchanged = false;
    let routePresent = false;
    let state = 'unknown';
    if (wren.running) {
      const w = await ctlNeighbor(wren.socket, WITNESS);
      state = w.state;
      sinceUnchanged = w.sinceMs === witnessSince;
      routePresent = (await pathsFrom(wren.socket, WITNESS_PREFIX, WITNESS)).length > 0;
      if (!(sinceUnchanged && routePresent && state === 'Established' && witness.isOpen)) {
        findings.push({ kind: 'witness-down', detail: `witness ${state}, since unchanged ${sinceUnchanged}, route ${routePresent}, notifications ${JSON.stringify(witness.notifications())}` });
      }
    } else {
      findings.push({ kind: 'daemon-exit', detail: `bgpd exited ${JSON.stringify(wren.exit)}: ${wren.output.slice(-2000)}` });
    }
    rss.end = rssKiB(wren.pid) ?? 0;
    if (rss.warm === 0) rss.warm = rss.end;
    await witness.end(1000);
    const elapsed = (Date.now() - started) / 1000;
    return {
      seed: opts.seed,
      count: opts.count,
      sent,
      fatalSent,
      connections,
      notifications,
      elapsedSec: Number(elapsed.toFixed(1)),
      perSec: Math.round(sent / elapsed),
      rssKiB: rss,
      control,
      witness: { sinceUnchanged, routePresent, state },
      alive: wren.running,
      timedOut,
      sessions: nPeers + 1,
      findings,
    };
  } finally {
    stop = true;
    await wren.close();
  }
}

function addrIndex(a: string): number {
  return Number(a.split('.')[3]);
}

async function waitRoute(sock: string, prefix: string, peer: string): Promise<number> {
  const end = Date.now() + 30_000;
  for (;;) {
    if ((await pathsFrom(sock, prefix, peer)).length > 0) return (await ctlNeighbor(sock, peer)).sinceMs;
    if (Date.now() > end) throw new Error(`${prefix} from ${peer} never reached the RIB`);
    await sleep(100);
  }
}
