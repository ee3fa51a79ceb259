/**
 * The decoder fuzzer (fuzz.ts) over worker threads: inputs 0 .. count-1 of one seeded run, split
 * into contiguous ranges, one per worker. Input i depends on (seed, i) only, so the findings are
 * the same for any number of workers and each is reproduced from its seed and index.
 *
 * - Hang watchdog: each worker publishes the index it is on in shared memory; one that stays on
 *   an input longer than `watchdogMs` is terminated, the input (rebuilt here from seed and index)
 *   reported as a 'hang' finding, and a fresh worker resumes at the next index. Inputs that
 *   merely run slow (over `slowMs`, twice) are reported by the workers themselves.
 * - Deadline: past `deadline` (epoch ms) every worker is terminated and the report says timedOut.
 *   The outcome counts of an abandoned worker are those of its last progress report (every
 *   65536 inputs), so they can sum to a little less than `done`.
 * - Memory: each worker's heap after a GC at its start, after 10% of its inputs (warm-up) and at
 *   its end, plus its samples in between, summed over workers; the process RSS every second.
 */
import { Worker } from 'node:worker_threads';
import { memoryUsage } from 'node:process';
import { buildSeeds, inputAt, loadMalformed } from './fuzz.js';
import type { Crasher, FuzzTally } from './fuzz.js';
import type { WorkerInput, WorkerMessage } from './fuzz-worker.js';

export interface ParallelFuzzOptions {
  readonly count: number;
  readonly seed: number;
  readonly workers: number;
  /** An input slower than this, twice, is a 'slow' finding (ms). */
  readonly slowMs: number;
  /** A worker stuck on one input this long is terminated and the input is a 'hang' finding (ms). */
  readonly watchdogMs: number;
  /** Epoch ms after which the run is abandoned (timedOut). */
  readonly deadline: number;
  readonly progress?: (line: string) => void;
}

export interface MiBTrio {
  readonly start: number;
  readonly warm: number;
  readonly max: number;
  readonly end: number;
}

export interface ParallelFuzzReport {
  readonly seed: number;
  readonly count: number;
  /** Inputs checked (count, unless timed out or stopped on too many findings). */
  readonly done: number;
  readonly workers: number;
  readonly elapsedSec: number;
  readonly perSec: number;
  readonly clean: number;
  readonly softened: number;
  readonly thrown: Readonly<Record<string, number>>;
  readonly maxMsPerMessage: number;
  readonly findings: readonly Crasher[];
  readonly timedOut: boolean;
  /** Sum over the workers' isolates (settled by a GC at start, warm and end when --expose-gc). */
  readonly heapMiB: MiBTrio;
  readonly rssMiB: MiBTrio;
}

interface Slot {
  readonly index: number;
  worker: Worker | null;
  /** The range this slot's current worker was given. */
  start: number;
  end: number;
  /** Inputs finished by earlier (hung) workers of this slot. */
  carried: number;
  lastCursor: number;
  lastMove: number;
  done: boolean;
  progressDone: number;
  /** Outcomes of this slot's current worker (its last progress report, then its final one). */
  tally: FuzzTally | null;
  heap: { start?: number; warm?: number; end?: number; latest: number };
}

const MAX_FINDINGS = 100;

export async function runParallelFuzz(opts: ParallelFuzzOptions): Promise<ParallelFuzzReport> {
  const nWorkers = Math.max(1, Math.min(opts.workers, opts.count));
  const cursors = new Int32Array(new SharedArrayBuffer(4 * nWorkers));
  const findings: Crasher[] = [];
  const thrown: Record<string, number> = {};
  let clean = 0;
  let softened = 0;
  let maxMs = 0;
  const add = (t: FuzzTally | null): void => {
    if (t === null) return;
    clean += t.clean;
    softened += t.softened;
    for (const [k, v] of Object.entries(t.thrown)) thrown[k] = (thrown[k] ?? 0) + v;
    maxMs = Math.max(maxMs, t.maxMsPerMessage);
  };
  /** A slot's worker is abandoned (hang, death, deadline): keep what it reported. */
  const abandon = (slot: Slot): void => {
    add(slot.tally);
    slot.tally = null;
  };
  let heapMax = 0;
  const rss = { start: memoryUsage.rss() / 1048576, warm: 0, max: 0, end: 0 };
  rss.max = rss.start;
  let timedOut = false;
  let seedPool: ReturnType<typeof buildSeeds> | null = null;
  const started = Date.now();

  const slots: Slot[] = Array.from({ length: nWorkers }, (_, w) => ({
    index: w,
    worker: null,
    start: Math.floor((opts.count * w) / nWorkers),
    end: Math.floor((opts.count * (w + 1)) / nWorkers),
    carried: 0,
    lastCursor: -1,
    lastMove: Date.now(),
    done: false,
    progressDone: 0,
    tally: null,
    heap: { latest: 0 },
  }));

  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const checkFinished = (): void => {
    if (slots.every((s) => s.done)) settle();
  };
  const sumHeap = (k: 'start' | 'warm' | 'end'): number | undefined => {
    let t = 0;
    for (const s of slots) {
      const v = s.heap[k];
      if (v === undefined) return undefined;
      t += v;
    }
    return t;
  };
  const noteHeap = (): void => {
    const total = slots.reduce((a, s) => a + s.heap.latest, 0);
    if (total > heapMax) heapMax = total;
  };
  const warmRss = { taken: false };

  const launch = (slot: Slot): void => {
    if (slot.start >= slot.end) {
      slot.done = true;
      checkFinished();
      return;
    }
    const data: WorkerInput = { seed: opts.seed, start: slot.start, count: slot.end - slot.start, slowMs: opts.slowMs, cursor: cursors.buffer as SharedArrayBuffer, slot: slot.index };
    Atomics.store(cursors, slot.index, slot.start);
    slot.lastCursor = slot.start;
    slot.lastMove = Date.now();
    const w = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: data });
    slot.worker = w;
    w.on('message', (m: WorkerMessage) => {
      if (w !== slot.worker) return;
      if (m.type === 'finding') {
        if (findings.length < MAX_FINDINGS) findings.push(m.crasher);
      } else if (m.type === 'progress') {
        slot.progressDone = slot.carried + m.done;
        slot.tally = m.tally;
        slot.heap.latest = m.heapMiB;
        noteHeap();
      } else if (m.type === 'heap') {
        // A resumed worker (after a hang) keeps its slot's first start and warm figures.
        if (m.phase === 'end' || slot.heap[m.phase] === undefined) slot.heap[m.phase] = m.heapMiB;
        slot.heap.latest = m.heapMiB;
        noteHeap();
      } else {
        const r = m.report;
        slot.tally = null;
        add(r);
        slot.progressDone = slot.carried + r.count;
        slot.heap.start ??= r.heapStartMiB;
        slot.heap.warm ??= r.heapWarmMiB;
        slot.heap.end = r.heapEndMiB;
        slot.heap.latest = r.heapEndMiB;
        noteHeap();
        slot.done = true;
        checkFinished();
      }
    });
    w.on('error', (e) => {
      if (w !== slot.worker) return;
      const at = Atomics.load(cursors, slot.index);
      findings.push(rebuild(at, 'exception', `worker thread died: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
      abandon(slot);
      slot.carried += at - slot.start + 1;
      slot.start = at + 1;
      slot.worker = null;
      launch(slot);
    });
  };

  const rebuild = (index: number, kind: Crasher['kind'], error: string): Crasher => {
    seedPool ??= buildSeeds(opts.seed, loadMalformed().map((r) => r.hex));
    const { frame, ctx } = inputAt(seedPool, opts.seed, index);
    return { seed: opts.seed, index, kind, hex: frame.toString('hex'), ctx: { fourOctetAs: ctx.fourOctetAs, extendedMessage: ctx.extendedMessage, addPath: [...ctx.addPath] }, error };
  };

  for (const s of slots) launch(s);

  let lastLine = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    const r = memoryUsage.rss() / 1048576;
    if (r > rss.max) rss.max = r;
    if (!warmRss.taken && sumHeap('warm') !== undefined) {
      warmRss.taken = true;
      rss.warm = r;
    }
    for (const s of slots) {
      if (s.done || s.worker === null) continue;
      const c = Atomics.load(cursors, s.index);
      if (c !== s.lastCursor) {
        s.lastCursor = c;
        s.lastMove = now;
      } else if (now - s.lastMove > opts.watchdogMs) {
        const w = s.worker;
        s.worker = null;
        void w.terminate();
        abandon(s);
        findings.push(rebuild(c, 'hang', `no result after ${now - s.lastMove} ms (worker ${s.index} terminated; resumed at the next index)`));
        s.carried += c - s.start + 1;
        s.start = c + 1;
        launch(s);
      }
    }
    if (now > opts.deadline && !slots.every((s) => s.done)) {
      timedOut = true;
      for (const s of slots) {
        if (!s.done) {
          s.progressDone = s.carried + Math.max(0, Atomics.load(cursors, s.index) - s.start);
          abandon(s);
          s.done = true;
        }
      }
      settle();
    }
    if (now - lastLine >= 15_000) {
      lastLine = now;
      const done = slots.reduce((a, s) => a + s.progressDone, 0);
      const heap = slots.reduce((a, s) => a + s.heap.latest, 0);
      opts.progress?.(`${done}/${opts.count} inputs, ${Math.round(done / ((now - started) / 1000))}/s, ${findings.length} findings, heap ${heap.toFixed(1)} MiB, rss ${r.toFixed(1)} MiB`);
    }
  }, 200);

  await finished;
  clearInterval(tick);
  rss.end = memoryUsage.rss() / 1048576;
  rss.max = Math.max(rss.max, rss.end);
  if (!warmRss.taken) rss.warm = rss.end;
  await Promise.all(slots.map((s) => s.worker?.terminate()));
  const elapsedSec = (Date.now() - started) / 1000;
  const done = slots.reduce((a, s) => a + s.progressDone, 0);
  const heapStart = sumHeap('start') ?? 0;
  const heapEnd = sumHeap('end') ?? slots.reduce((a, s) => a + s.heap.latest, 0);
  return {
    seed: opts.seed,
    count: opts.count,
    done,
    workers: nWorkers,
    elapsedSec,
    perSec: Math.round(done / elapsedSec),
    clean,
    softened,
    thrown,
    maxMsPerMessage: maxMs,
    findings: findings.sort((a, b) => a.index - b.index),
    timedOut,
    heapMiB: { start: heapStart, warm: sumHeap('warm') ?? heapEnd, max: Math.max(heapMax, heapStart, heapEnd), end: heapEnd },
    rssMiB: rss,
  };
}
