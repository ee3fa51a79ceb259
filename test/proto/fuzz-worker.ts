/**
 * One decoder-fuzz worker thread (started by fuzz-parallel.ts): runs inputs start .. start+count-1
 * of the run seeded `seed`, posting findings as found, heap samples, and a final report. It then
 * stays alive until terminated, so the parent can read the process RSS with every worker present.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadMalformed, runFuzz } from './fuzz.js';
import type { Crasher, FuzzReport, FuzzTally } from './fuzz.js';

export interface WorkerInput {
  readonly seed: number;
  readonly start: number;
  readonly count: number;
  readonly slowMs: number;
  readonly cursor: SharedArrayBuffer;
  readonly slot: number;
}

export type WorkerMessage =
  | { readonly type: 'finding'; readonly crasher: Crasher }
  | { readonly type: 'progress'; readonly done: number; readonly heapMiB: number; readonly tally: FuzzTally }
  | { readonly type: 'heap'; readonly phase: 'start' | 'warm' | 'end'; readonly heapMiB: number }
  | { readonly type: 'done'; readonly report: FuzzReport };

const input = workerData as WorkerInput;
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);
const report = runFuzz({
  count: input.count,
  seed: input.seed,
  start: input.start,
  corpus: loadMalformed().map((r) => r.hex),
  slowMs: input.slowMs,
  cursor: { array: new Int32Array(input.cursor), slot: input.slot },
  onCrasher: (crasher) => post({ type: 'finding', crasher }),
  progress: (done, _line, heapMiB, tally) => post({ type: 'progress', done, heapMiB, tally }),
  onHeap: (phase, heapMiB) => post({ type: 'heap', phase, heapMiB }),
});
post({ type: 'done', report: { ...report, crashers: [] } });
parentPort!.on('message', () => undefined);
