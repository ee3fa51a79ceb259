/**
 * `npm run fuzz`: one bounded run of issue #9's fuzzing, in two phases.
 *   1. decoder: 10,000,000 mutated messages through the UPDATE decoder (test/proto/fuzz.ts) on
 *      worker threads, with a per-input hang watchdog and the workers' heap sampled;
 *   2. live: 100,000 mutated UPDATEs through live sessions into a running bgpd (fuzz-live.ts),
 *      with bgpd's RSS sampled.
 * The whole run has a deadline, after which it fails instead of hanging. Exit 1 on any finding,
 * on memory growth after warm-up above a bound, or on the deadline; the last line says
 * `fuzz: PASS` or `fuzz: FAIL (reasons)`.
 *
 *   node --expose-gc dist/test/hardening/fuzz-live-main.js [--decoder-only | --live-only]
 *     [--count N (10000000)] [--live-count N (100000)] [--seed S] [--workers W (2)]
 *     [--hang-ms MS (1000)] [--watchdog-ms MS (10000)] [--max-minutes M (30)]
 *     [--max-heap-growth-mib M (32)] [--max-decoder-rss-growth-mib M (128)]
 *     [--max-rss-growth-mib M (64, bgpd)] [--reset-every K (250)] [--peers P (4)]
 *   --live is --live-only (with --count as the live count unless --live-count is given).
 *   --replay I [--seed S]: print decoder input I of run S in full, and what the oracles say.
 */
import process from 'node:process';
import { availableParallelism, loadavg } from 'node:os';
import { BgpError } from '../../proto/errors.js';
import { buildSeeds, checkInput, inputAt, loadMalformed } from '../proto/fuzz.js';
import type { Crasher } from '../proto/fuzz.js';
import { runParallelFuzz } from '../proto/fuzz-parallel.js';
import type { ParallelFuzzReport } from '../proto/fuzz-parallel.js';
import { runLiveFuzz } from './fuzz-live.js';
import type { LiveFuzzReport } from './fuzz-live.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function num(name: string, dflt: number): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`fuzz: --${name} wants a non-negative number, not ${v}`);
    process.exit(2);
  }
  return n;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const liveOnly = flag('live-only') || flag('live');
const decoderOnly = flag('decoder-only');
if (liveOnly && decoderOnly) {
  console.error('fuzz: --decoder-only and --live-only exclude each other');
  process.exit(2);
}
const seed = num('seed', Date.now() % 0xffffffff) >>> 0;
const count = num('count', 10_000_000);
const liveCount = num('live-count', liveOnly && arg('count') !== undefined ? count : 100_000);
const workers = Math.max(1, num('workers', Math.min(2, availableParallelism())));
const hangMs = num('hang-ms', 1000);
const watchdogMs = num('watchdog-ms', Math.max(10_000, 5 * hangMs));
const maxMinutes = num('max-minutes', 30);
const maxHeapGrowth = num('max-heap-growth-mib', 32);
const maxDecoderRssGrowth = num('max-decoder-rss-growth-mib', 128);
const maxRssGrowth = num('max-rss-growth-mib', 64);
const resetEvery = num('reset-every', 250);
const peers = num('peers', 4);

const hex = (h: string, max = 2000): string => (h.length > max ? `${h.slice(0, max)}... (${h.length / 2} octets; --replay prints all)` : h);
const mib = (x: number): string => x.toFixed(1);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

if (arg('replay') !== undefined) {
  const index = num('replay', 0);
  const { frame, ctx } = inputAt(buildSeeds(seed, loadMalformed().map((r) => r.hex)), seed, index);
  const r = checkInput(frame, ctx);
  console.log(`decoder input seed=${seed} index=${index} ctx=${JSON.stringify({ ...ctx, addPath: [...ctx.addPath] })} (${frame.length} octets)\n${frame.toString('hex')}`);
  console.log(r instanceof BgpError ? `BgpError ${r.code}/${r.subcode}: ${r.message}` : typeof r === 'string' ? r : `FINDING [${r.kind}] ${r.error}`);
  process.exit(typeof r === 'object' && !(r instanceof BgpError) ? 1 : 0);
}

const started = Date.now();
const deadline = started + maxMinutes * 60_000;
const fails: string[] = [];
let bgpdPid = -1;
// Last resort if a phase ignores the deadline (a wedged await): kill bgpd and fail loudly.
const lastResort = setTimeout(() => {
  console.log(`fuzz: FAIL (deadline: still running ${maxMinutes} min + 2 min after the start; killed)`);
  if (bgpdPid > 0) {
    try {
      process.kill(bgpdPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(1);
}, deadline - started + 120_000);
lastResort.unref();

console.log(`fuzz: seed ${seed}; ${decoderOnly ? '' : liveOnly ? 'live only: ' : 'decoder then live: '}${liveOnly ? '' : `${count} decoder inputs on ${workers} worker thread(s)`}${decoderOnly || liveOnly ? '' : ', '}${decoderOnly ? '' : `${liveCount} live UPDATEs`}; deadline ${maxMinutes} min; load average ${load()}`);

let dec: ParallelFuzzReport | null = null;
if (!liveOnly) {
  console.log(`phase 1: decoder (slow input > ${hangMs} ms twice = finding; stuck > ${watchdogMs} ms = hang)`);
  dec = await runParallelFuzz({ count, seed, workers, slowMs: hangMs, watchdogMs, deadline, progress: (l) => console.log(`  ${l}`) });
  for (const f of dec.findings) printDecoderFinding(f);
  if (dec.timedOut) fails.push(`deadline reached in the decoder phase after ${dec.done}/${count} inputs`);
  if (dec.findings.length > 0) fails.push(`${dec.findings.length} decoder finding(s)`);
  const heapGrowth = dec.heapMiB.end - dec.heapMiB.warm;
  if (heapGrowth > maxHeapGrowth) fails.push(`decoder heap grew ${mib(heapGrowth)} MiB after warm-up (limit ${maxHeapGrowth})`);
  const rssGrowth = dec.rssMiB.end - dec.rssMiB.warm;
  if (rssGrowth > maxDecoderRssGrowth) fails.push(`decoder RSS grew ${mib(rssGrowth)} MiB after warm-up (limit ${maxDecoderRssGrowth})`);
}

let live: LiveFuzzReport | null = null;
if (!decoderOnly) {
  if (Date.now() > deadline) {
    fails.push('deadline reached before the live phase');
  } else {
    console.log(`phase 2: live (one reset per ~${resetEvery}, ${peers} fuzz peers and a witness)`);
    live = await runLiveFuzz({
      count: liveCount,
      seed,
      resetEvery,
      peers,
      deadline,
      onStart: (pid) => (bgpdPid = pid),
      progress: (l) => console.log(`  ${l}`),
    });
    for (const f of live.findings) {
      const last = f.recent?.[f.recent.length - 1];
      console.log(`FINDING live/${f.kind} seed=${seed} index=${f.index ?? '-'}${f.ctx === undefined ? '' : ` ctx=${JSON.stringify(f.ctx)}`}\n  hex: ${last === undefined ? '-' : hex(last)}\n  error: ${f.detail}`);
    }
    if (live.timedOut) fails.push(`deadline reached in the live phase after ${live.sent}/${liveCount} UPDATEs`);
    if (live.findings.length > 0) fails.push(`${live.findings.length} live finding(s)`);
    if (!live.alive) fails.push('bgpd exited');
    const growth = (live.rssKiB.end - live.rssKiB.warm) / 1024;
    if (growth > maxRssGrowth) fails.push(`bgpd RSS grew ${mib(growth)} MiB after warm-up (limit ${maxRssGrowth})`);
  }
}
clearTimeout(lastResort);

const total = (Date.now() - started) / 1000;
console.log('');
console.log(`fuzz summary: seed ${seed}, ${total.toFixed(1)} s in all (deadline ${maxMinutes} min), load average at the end ${load()}`);
if (dec !== null) {
  const thrown = Object.entries(dec.thrown).sort((a, b) => b[1] - a[1]);
  const nThrown = thrown.reduce((a, [, v]) => a + v, 0);
  console.log(`  decoder: ${dec.done}/${dec.count} inputs in ${dec.elapsedSec.toFixed(1)} s on ${dec.workers} worker(s), ${dec.perSec}/s; ${dec.findings.length} findings`);
  console.log(`           clean ${dec.clean}, RFC 7606 softened ${dec.softened}, NOTIFICATION-class errors ${nThrown} (${thrown.map(([k, v]) => `${k}: ${v}`).join(', ')}); slowest input ${dec.maxMsPerMessage.toFixed(1)} ms`);
  console.log(`           heap + Buffers (MiB, all workers, after GC): start ${mib(dec.heapMiB.start)}, warm ${mib(dec.heapMiB.warm)}, max ${mib(dec.heapMiB.max)}, end ${mib(dec.heapMiB.end)} (growth after warm-up ${mib(dec.heapMiB.end - dec.heapMiB.warm)}, limit ${maxHeapGrowth})`);
  console.log(`           process RSS (MiB): start ${mib(dec.rssMiB.start)}, warm ${mib(dec.rssMiB.warm)}, max ${mib(dec.rssMiB.max)}, end ${mib(dec.rssMiB.end)} (growth after warm-up ${mib(dec.rssMiB.end - dec.rssMiB.warm)}, limit ${maxDecoderRssGrowth})`);
}
if (live !== null) {
  const r = live.rssKiB;
  const notes = Object.entries(live.notifications).sort((a, b) => b[1] - a[1]);
  console.log(`  live:    ${live.sent}/${live.count} UPDATEs in ${live.elapsedSec.toFixed(1)} s, ${live.perSec}/s; ${live.findings.length} findings`);
  console.log(`           ${live.sessions} sessions (${live.sessions - 1} fuzz peers + witness), ${live.connections + 1} connections; ${live.fatalSent} fatal inputs, NOTIFICATIONs ${notes.map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}`);
  console.log(`           witness ${live.witness.state}, never flapped ${live.witness.sinceUnchanged}, route present ${live.witness.routePresent}; control socket ${live.control.polls} polls, max ${live.control.maxMs} ms, ${live.control.failures} failures`);
  console.log(`           bgpd RSS (MiB): start ${mib(r.start / 1024)}, warm ${mib(r.warm / 1024)}, max ${mib(r.max / 1024)}, end ${mib(r.end / 1024)} (growth after warm-up ${mib((r.end - r.warm) / 1024)}, limit ${maxRssGrowth})`);
}
console.log(fails.length === 0 ? 'fuzz: PASS' : `fuzz: FAIL (${fails.join('; ')})`);
process.exitCode = fails.length === 0 ? 0 : 1;

function printDecoderFinding(f: Crasher): void {
  console.log(`FINDING decoder/${f.kind} seed=${f.seed} index=${f.index} ctx=${JSON.stringify(f.ctx)} (${f.hex.length / 2} octets; replay: npm run fuzz -- --seed ${f.seed} --replay ${f.index})\n  hex: ${hex(f.hex)}\n  error: ${f.error.split('\n').slice(0, 6).join('\n    ')}`);
}
