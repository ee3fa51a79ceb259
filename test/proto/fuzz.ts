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
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
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
  readonly index: number;
  readonly kind: 'exception' | 'roundtrip' | 'slow';
  readonly hex: string;
  readonly ctx: { fourOctetAs: boolean; extendedMessage: boolean; addPath: number[] };
  readonly error: string;
}

export interface FuzzReport {
  readonly seed: number;
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
  readonly heapStartMiB: number;
  readonly heapEndMiB: number;
  readonly heapMaxMiB: number;
}

export interface FuzzOptions {
  readonly count: number;
  readonly seed: number;
  /** Extra seed inputs (hex), e.g. the malformed corpus. */
  readonly corpus?: readonly string[];
  /** A message slower than this is reported as a crasher of kind 'slow'. */
  readonly slowMs?: number;
  readonly progress?: (done: number, report: () => string) => void;
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

function heapMiB(): number {
  return process.memoryUsage().heapUsed / 1048576;
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

export function runFuzz(opts: FuzzOptions): FuzzReport {
  const rng = new Rng(opts.seed);
  const slowMs = opts.slowMs ?? 50;
  const seeds: { frame: Buffer; ctx: CodecContext }[] = [];
  for (let i = 0; i < CORPUS_SIZE; i++) {
    const ctx = genContext(rng);
    try {
      seeds.push({ frame: encodeUpdate(genUpdate(rng, ctx), ctx), ctx });
    } catch {
      // a generated message over the size limit: skip it
    }
  }
  for (const hex of opts.corpus ?? []) {
    const frame = expandHex(hex);
    if (frame.length >= HEADER_LEN) seeds.push({ frame, ctx: genContext(rng) });
  }
  const corpusFrames = seeds.map((s) => s.frame);
  const thrown: Record<string, number> = {};
  const crashers: Crasher[] = [];
  let clean = 0;
  let softened = 0;
  let maxMs = 0;
  const heapStart = heapMiB();
  let heapMax = heapStart;
  const started = performance.now();
  for (let i = 0; i < opts.count; i++) {
    const s = rng.pick(seeds);
    // Half the time decode under another context than the one the seed was made for.
    const ctx = rng.chance(0.5) ? s.ctx : genContext(rng);
    const frame = mutate(rng, s.frame, corpusFrames);
    const t0 = performance.now();
    const r = checkInput(frame, ctx);
    const ms = performance.now() - t0;
    if (ms > maxMs) maxMs = ms;
    if (r === 'clean') clean++;
    else if (r === 'softened') softened++;
    else if (r instanceof BgpError) thrown[errorKey(r)] = (thrown[errorKey(r)] ?? 0) + 1;
    else crashers.push({ index: i, kind: r.kind, hex: frame.toString('hex'), ctx: ctxJson(ctx), error: r.error });
    if (ms > slowMs && crashers.length < 100) {
      // Re-time once: a GC pause or a busy neighbour is not a hang.
      const t1 = performance.now();
      checkInput(frame, ctx);
      if (performance.now() - t1 > slowMs) crashers.push({ index: i, kind: 'slow', hex: frame.toString('hex'), ctx: ctxJson(ctx), error: `${ms.toFixed(1)} ms` });
    }
    if ((i & 0xffff) === 0) {
      const h = heapMiB();
      if (h > heapMax) heapMax = h;
      opts.progress?.(i, () => `${i} inputs, ${crashers.length} crashers, heap ${h.toFixed(1)} MiB`);
    }
    if (crashers.length >= 100) break;
  }
  return {
    seed: opts.seed,
    count: opts.count,
    elapsedMs: performance.now() - started,
    clean,
    softened,
    thrown,
    crashers,
    maxMsPerMessage: maxMs,
    heapStartMiB: heapStart,
    heapEndMiB: heapMiB(),
    heapMaxMiB: heapMax,
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
