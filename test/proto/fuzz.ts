/**
 * A seeded mutation fuzzer for the UPDATE decoder (no dependencies; style.md §7.7).
 *
 * Valid messages from gen.ts (under random session contexts) plus the malformed corpus are
 * mutated — bit flips, interesting byte values, truncation, extension, length-field stretching,
 * range duplication and splicing — and fed to the framer-level decoder (decodeMessage, which
 * re-checks the header) and to decodeUpdate directly. Oracles:
 * - only BgpError may escape (anything else is a crasher);
 * - a message decoded without error re-encodes, and re-decodes to the same encoding;
 * - RFC 6793 reconstruction never throws on what the decoder accepted;
 * - each message decodes within a time bound, and the heap stays flat.
 * Input i of a run is a function of (seed, i) alone (inputAt), so a finding is reproduced from
 * its seed and index, and a run splits across worker threads (fuzz-parallel.ts) without changing.
 */
import { Buffer } from 'node:buffer';
import { getHeapStatistics } from 'node:v8';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HEADER_LEN, MARKER_LEN } from '../../proto/constants.js';
import { BgpError } from '../../proto/errors.js';
import { decodeMessage } from '../../proto/messages.js';
import { decodeUpdate, encodeUpdate } from '../../proto/update.js';
import { fromTwoOctet } from '../../proto/as4.js';
import type { CodecContext } from '../../proto/types.js';
import { Rng, genContext, genUpdate } from './gen.js';

export interface Crasher {
  /** The run's seed and the input's index: together they reproduce the input (inputAt). */
  readonly seed: number;
  readonly index: number;
  /** 'hang': the input never returned (seen by fuzz-parallel.ts's watchdog, which killed its worker). */
  readonly kind: 'exception' | 'roundtrip' | 'slow' | 'hang';
  readonly hex: string;
  readonly ctx: { fourOctetAs: boolean; extendedMessage: boolean; addPath: number[] };
  readonly error: string;
}

export interface FuzzReport {
  readonly seed: number;
  /** Inputs start .. start + count - 1 were checked. */
  readonly start: number;
  readonly count: number;
  readonly elapsedMs: number;
  /** Inputs decoded with no error at all. */
  readonly clean: number;
  /** Inputs decoded with a non-fatal RFC 7606 outcome. */
  readonly softened: number;
  /** BgpError thrown, by "code/subcode". */
  readonly thrown: Readonly<Record<string, number>>;
  readonly crashers: readonly Crasher[];
  readonly maxMsPerMessage: number;
  /** Heap of this isolate after a GC (when --expose-gc), at the start, after 10% of the inputs (warm-up) and at the end. */
  readonly heapStartMiB: number;
  readonly heapWarmMiB: number;
  readonly heapEndMiB: number;
  readonly heapMaxMiB: number;
}

/** Outcome counts of a (partial) run. */
export interface FuzzTally {
  readonly clean: number;
  readonly softened: number;
  readonly thrown: Readonly<Record<string, number>>;
  readonly maxMsPerMessage: number;
}

export interface FuzzOptions {
  readonly count: number;
  readonly seed: number;
  /** Extra seed inputs (hex), e.g. the malformed corpus. */
  readonly corpus?: readonly string[];
  /** A message slower than this is reported as a crasher of kind 'slow'. */
  readonly slowMs?: number;
  /** Every 65536 inputs, with this isolate's heap (MiB) and the outcomes so far. */
  readonly progress?: (done: number, report: () => string, heapMiB: number, so: FuzzTally) => void;
  /** The first input's index (default 0): input i is a function of (seed, i) alone. */
  readonly start?: number;
  /** Set to each input's index before it is made and checked, for a watchdog in another thread. */
  readonly cursor?: { readonly array: Int32Array; readonly slot: number };
  /** Called on each crasher as it is found. */
  readonly onCrasher?: (c: Crasher) => void;
  /** The settled heap (MiB) at the start, after warm-up (10% of the inputs) and at the end. */
  readonly onHeap?: (phase: 'start' | 'warm' | 'end', heapMiB: number) => void;
  /** Stop after this many crashers (default 100). */
  readonly maxCrashers?: number;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0f, 0x10, 0x1f, 0x20, 0x21, 0x40, 0x50, 0x7f, 0x80, 0x81, 0x90, 0xc0, 0xe0, 0xf0, 0xff];
const CORPUS_SIZE = 256;
const MAX_FRAME = 65535;

function setLength(b: Buffer): void {
  if (b.length >= HEADER_LEN) b.writeUInt16BE(Math.min(b.length, MAX_FRAME), MARKER_LEN);
}

/** One mutation of `input` (never modified in place). */
export function mutate(rng: Rng, input: Buffer, corpus: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + (rng.chance(0.3) ? rng.int(4) : 0);
  for (let r = 0; r < rounds; r++) {
    const body = Math.max(1, b.length - HEADER_LEN);
    const at = HEADER_LEN + rng.int(body);
    switch (rng.int(9)) {
      case 0: // bit flip
        if (at < b.length) b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 1: // interesting byte
        if (at < b.length) b[at] = rng.pick(INTERESTING);
        break;
      case 2: // random byte
        if (at < b.length) b[at] = rng.int(256);
        break;
      case 3: // truncate
        b = b.subarray(0, Math.max(HEADER_LEN, rng.int(b.length + 1)));
        break;
      case 4: // extend with random or repeated bytes
        b = Buffer.concat([b, Buffer.from(rng.bytes(rng.int(rng.chance(0.05) ? 3000 : 40)))]);
        break;
      case 5: {
        // stretch a 1- or 2-octet length-like field
        if (at + 1 < b.length) {
          const delta = rng.pick([1, -1, 2, -2, 4, 8, 16, 128, 255, 256, -256, 4096]);
          if (rng.chance(0.5)) b[at] = (b[at]! + delta) & 0xff;
          else b.writeUInt16BE((b.readUInt16BE(at) + delta) & 0xffff, at);
        }
        break;
      }
      case 6: {
        // duplicate a range (repeats attributes, segments, prefixes)
        const from = HEADER_LEN + rng.int(body);
        const len = rng.int(Math.min(64, b.length - from) + 1);
        const to = HEADER_LEN + rng.int(body);
        b = Buffer.concat([b.subarray(0, to), b.subarray(from, from + len), b.subarray(to)]);
        break;
      }
      case 7: {
        // splice with another corpus entry
        const other = rng.pick(corpus);
        const cut = HEADER_LEN + rng.int(body);
        const oc = HEADER_LEN + rng.int(Math.max(1, other.length - HEADER_LEN));
        b = Buffer.concat([b.subarray(0, cut), other.subarray(oc)]);
        break;
      }
      default: {
        // overwrite a 2-octet field with a boundary value
        if (at + 1 < b.length) b.writeUInt16BE(rng.pick([0, 1, 2, 3, 4, 0xff, 0x100, 0x7fff, 0xffff, b.length - at]), at);
      }
    }
  }
  if (b.length > MAX_FRAME) b = b.subarray(0, MAX_FRAME);
  // Usually keep the header honest so the body reaches the UPDATE decoder; sometimes not.
  if (!rng.chance(0.05)) setLength(b);
  return b;
}

function ctxJson(ctx: CodecContext): Crasher['ctx'] {
  return { fourOctetAs: ctx.fourOctetAs, extendedMessage: ctx.extendedMessage, addPath: [...ctx.addPath] };
}

function errorKey(e: BgpError): string {
  return `${e.code}/${e.subcode}`;
}

/**
 * Check one input against every oracle; returns a crasher description or null. Exported so that
 * crashers can be replayed in malformed.test.ts.
 */
export function checkInput(frame: Buffer, ctx: CodecContext): { kind: Crasher['kind']; error: string } | 'clean' | 'softened' | BgpError {
  let thrown: BgpError | null = null;
  try {
    decodeMessage(frame, ctx);
  } catch (e) {
    if (!(e instanceof BgpError)) return { kind: 'exception', error: `decodeMessage: ${e instanceof Error ? e.stack ?? e.message : String(e)}` };
    thrown = e;
  }
  // decodeUpdate must be safe on any frame of at least 19 octets, whatever its header says.
  try {
    const out = decodeUpdate(frame, ctx);
    if (!ctx.fourOctetAs && out.message.attrs !== null) fromTwoOctet(out.message.attrs);
    // Round trip only what the framer accepts (decodeUpdate alone ignores the size limit).
    if (thrown === null && out.errors.length === 0) {
      const again = encodeUpdate(out.message, ctx);
      const round = decodeUpdate(again, ctx);
      const third = encodeUpdate(round.message, ctx);
      if (!third.equals(again)) return { kind: 'roundtrip', error: 'encode(decode(encode(m))) differs from encode(m)' };
    }
    return thrown ?? (out.errors.length === 0 ? 'clean' : 'softened');
  } catch (e) {
    if (e instanceof BgpError) return thrown ?? e;
    const what = e instanceof Error ? `${e.name}: ${e.stack ?? e.message}` : String(e);
    return { kind: 'exception', error: `decodeUpdate/encode: ${what}` };
  }
}

/** A seed input: a frame and the session context it was made for. */
export interface FuzzSeed {
  readonly frame: Buffer;
  readonly ctx: CodecContext;
}

/** The seed pool of a run: CORPUS_SIZE generated UPDATEs, then `corpus` (hex); a function of `seed` alone. */
export function buildSeeds(seed: number, corpus: readonly string[] = []): FuzzSeed[] {
  const rng = new Rng(seed);
  const seeds: FuzzSeed[] = [];
  for (let i = 0; i < CORPUS_SIZE; i++) {
    const ctx = genContext(rng);
    try {
      seeds.push({ frame: encodeUpdate(genUpdate(rng, ctx), ctx), ctx });
    } catch {
      // a generated message over the size limit: skip it
    }
  }
  for (const hex of corpus) {
    const frame = expandHex(hex);
    if (frame.length >= HEADER_LEN) seeds.push({ frame, ctx: genContext(rng) });
  }
  return seeds;
}

/** The Rng seed of input `index` of a run seeded `seed` (murmur3's finalizer over seed and index; distinct per index). */
export function inputSeed(seed: number, index: number): number {
  let h = ((seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Input `index` of a run: derived from (seed, index) alone, so any input is reproduced without
 * replaying the ones before it, whichever worker ran it.
 */
export function inputAt(seeds: readonly FuzzSeed[], seed: number, index: number, corpusFrames: readonly Buffer[] = seeds.map((s) => s.frame)): FuzzSeed {
  const rng = new Rng(inputSeed(seed, index));
  const s = rng.pick(seeds);
  // Half the time decode under another context than the one the seed was made for.
  const ctx = rng.chance(0.5) ? s.ctx : genContext(rng);
  return { frame: mutate(rng, s.frame, corpusFrames), ctx };
}

/** The heap of this isolate (a worker's own when run in a worker thread) with its external memory (Buffers), MiB. */
export function isolateHeapMiB(): number {
  const h = getHeapStatistics() as ReturnType<typeof getHeapStatistics> & { external_memory?: number };
  return (h.used_heap_size + (h.external_memory ?? 0)) / 1048576;
}

function settledHeapMiB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
  return isolateHeapMiB();
}

export function runFuzz(opts: FuzzOptions): FuzzReport {
  const slowMs = opts.slowMs ?? 50;
  const first = opts.start ?? 0;
  const maxCrashers = opts.maxCrashers ?? 100;
  const seeds = buildSeeds(opts.seed, opts.corpus);
  const corpusFrames = seeds.map((s) => s.frame);
  const thrown: Record<string, number> = {};
  const crashers: Crasher[] = [];
  const found = (c: Crasher): void => {
    crashers.push(c);
    opts.onCrasher?.(c);
  };
  let clean = 0;
  let softened = 0;
  let maxMs = 0;
  let done = 0;
  const heapStart = settledHeapMiB();
  opts.onHeap?.('start', heapStart);
  let heapWarm = heapStart;
  const warmAt = Math.floor(opts.count / 10);
  let heapMax = heapStart;
  const started = performance.now();
  for (let n = 0; n < opts.count; n++) {
    const i = first + n;
    if (opts.cursor !== undefined) Atomics.store(opts.cursor.array, opts.cursor.slot, i);
    const { frame, ctx } = inputAt(seeds, opts.seed, i, corpusFrames);
    const t0 = performance.now();
    const r = checkInput(frame, ctx);
    const ms = performance.now() - t0;
    done++;
    if (ms > maxMs) maxMs = ms;
    if (r === 'clean') clean++;
    else if (r === 'softened') softened++;
    else if (r instanceof BgpError) thrown[errorKey(r)] = (thrown[errorKey(r)] ?? 0) + 1;
    else found({ seed: opts.seed, index: i, kind: r.kind, hex: frame.toString('hex'), ctx: ctxJson(ctx), error: r.error });
    if (ms > slowMs && crashers.length < maxCrashers) {
      // Re-time once: a GC pause or a busy neighbour is not a hang.
      const t1 = performance.now();
      checkInput(frame, ctx);
      const again = performance.now() - t1;
      if (again > slowMs) found({ seed: opts.seed, index: i, kind: 'slow', hex: frame.toString('hex'), ctx: ctxJson(ctx), error: `${ms.toFixed(1)} ms, then ${again.toFixed(1)} ms (limit ${slowMs} ms)` });
    }
    if (n === warmAt && n > 0) {
      heapWarm = settledHeapMiB();
      opts.onHeap?.('warm', heapWarm);
    }
    if ((n & 0xffff) === 0) {
      const h = isolateHeapMiB();
      if (h > heapMax) heapMax = h;
      opts.progress?.(n, () => `${n} inputs, ${crashers.length} crashers, heap ${h.toFixed(1)} MiB`, h, { clean, softened, thrown, maxMsPerMessage: maxMs });
    }
    if (crashers.length >= maxCrashers) break;
  }
  const elapsedMs = performance.now() - started;
  const heapEnd = settledHeapMiB();
  opts.onHeap?.('end', heapEnd);
  return {
    seed: opts.seed,
    start: first,
    count: done,
    elapsedMs,
    clean,
    softened,
    thrown,
    crashers,
    maxMsPerMessage: maxMs,
    heapStartMiB: heapStart,
    heapWarmMiB: heapWarm,
    heapEndMiB: heapEnd,
    heapMaxMiB: Math.max(heapMax, heapEnd),
  };
}

/** One row of test/fixtures/update/malformed.json (written by malformed.gen.py). */
export interface MalformedRow {
  readonly name: string;
  readonly source: string;
  readonly ctx: { readonly fourOctetAs: boolean; readonly extendedMessage?: boolean; readonly addPath?: readonly number[] };
  /** Hex; `{ab*N}` stands for N octets 0xab. */
  readonly hex: string;
  readonly expect: {
    readonly throws?: ExpectedError;
    readonly outcome?: {
      readonly treatAsWithdraw: boolean;
      readonly discarded: readonly number[];
      readonly disableFamilies: readonly number[];
      readonly errors: readonly ExpectedError[];
      readonly endOfRib?: number;
    };
  };
}
export interface ExpectedError {
  readonly code: number;
  readonly subcode: number;
  readonly dataHex: string;
  readonly disposition: string;
}

export function expandHex(hex: string): Buffer {
  const flat = hex.replace(/\{([0-9a-f]{2})\*(\d+)\}/g, (_m, b: string, n: string) => b.repeat(Number(n))).replace(/\s+/g, '');
  return Buffer.from(flat, 'hex');
}

/** The malformed table, found from the source tree or from dist/. */
export function loadMalformed(): MalformedRow[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const rel of ['../fixtures/update/malformed.json', '../../../test/fixtures/update/malformed.json']) {
    const p = here + rel;
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as MalformedRow[];
  }
  throw new Error('test/fixtures/update/malformed.json not found');
}
