/**
 * Cuts a TCP byte stream into whole BGP messages (RFC 4271 §4.1: a message is a 19-octet header
 * whose Length covers the whole message). Framing is its own unit, as in holo's get_message_len,
 * BIRD's bgp_rx and pg-protocol's parse.
 *
 * Usage: after each socket chunk, `push(chunk)` then call `next()` until it returns null. Each frame
 * is a zero-copy view that stays valid until the next `push()`; copy what must live longer.
 *
 * Memory: when nothing is pending, a chunk is borrowed as is, so every complete message inside it
 * is returned without a copy. Once `next()` returns null, the partial message left at the end of a
 * borrowed chunk is copied into one owned buffer (grown geometrically, compacted in place), so the
 * chunk is no longer referenced: the caller may reuse its read buffer (`net` `onread`), and a few
 * trailing octets never pin a 64 KiB chunk. A consumer that drains `next()` after every push keeps
 * at most one partial message plus one chunk; the owned buffer is dropped once drained if it grew
 * beyond SHRINK_ABOVE.
 */
import { Buffer } from 'node:buffer';
import { HEADER_LEN } from './constants.js';
import { BgpError } from './errors.js';
import { checkHeader } from './header.js';

const INITIAL_CAPACITY = 8192;
/** Twice the largest extended message plus a socket chunk: anything above is released when empty. */
const SHRINK_ABOVE = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export class Framer {
  private buf: Buffer = EMPTY;
  /** `buf` is our own allocation (true) or a borrowed socket chunk that we must not write into. */
  private owned = false;
  /** An owned buffer kept while a borrowed chunk is current, so the next straddle need not allocate. */
  private spare: Buffer | null = null;
  private start = 0;
  private end = 0;
  /** Length of the message at `start` once its header has been validated, else -1. */
  private pendingLength = -1;
  private extendedMessage: boolean;
  /** After a framing error the stream is unsynchronised for good: every later next() repeats it. */
  private failure: BgpError | null = null;

  constructor(options: { readonly extendedMessage?: boolean } = {}) {
    this.extendedMessage = options.extendedMessage ?? false;
  }

  /**
   * RFC 8654: switch the length limit once both sides advertised Extended Message. The header of
   * a message already waiting for its body is checked again under the new limit.
   */
  setExtendedMessage(on: boolean): void {
    this.extendedMessage = on;
    this.pendingLength = -1;
  }

  /** Octets received but not yet returned by next(). */
  get buffered(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    const pending = this.end - this.start;
    if (pending === 0) {
      // Nothing to join: borrow the chunk. An owned buffer, if any, is kept for the next straddle
      // unless it grew large.
      if (this.owned && this.buf.length <= SHRINK_ABOVE) this.spare = this.buf;
      this.buf = chunk;
      this.owned = false;
      this.start = 0;
      this.end = n;
      return;
    }
    if (this.owned && this.buf.length - this.end >= n) {
      chunk.copy(this.buf, this.end);
      this.end += n;
      return;
    }
    const needed = pending + n;
    if (this.owned && this.buf.length >= needed) {
      // Compact: views handed out before this push are allowed to go stale (see the class comment).
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      let target: Buffer;
      const spare = this.spare;
      if (spare !== null && spare.length >= needed && spare !== this.buf) {
        target = spare;
      } else {
        let size = Math.max(INITIAL_CAPACITY, this.owned ? this.buf.length * 2 : 0);
        while (size < needed) size *= 2;
        target = Buffer.allocUnsafe(size);
      }
      this.spare = null;
      this.buf.copy(target, 0, this.start, this.end);
      this.buf = target;
      this.owned = true;
    }
    this.start = 0;
    this.end = pending;
    chunk.copy(this.buf, this.end);
    this.end += n;
  }

  /**
   * The next whole message as a view, or null if more bytes are needed. Throws the RFC 4271 §6.1
   * BgpError as soon as a bad header is complete, before waiting for the body it announces.
   */
  next(): Buffer | null {
    if (this.failure !== null) throw this.failure;
    const avail = this.end - this.start;
    if (avail < HEADER_LEN) return this.wait();
    let length = this.pendingLength;
    if (length < 0) {
      try {
        length = checkHeader(this.buf, this.start, this.extendedMessage);
      } catch (e) {
        // Only BgpError can come out of checkHeader; anything else is a bug and propagates as is.
        if (e instanceof BgpError) {
          this.failure = e;
          this.release();
        }
        throw e;
      }
      this.pendingLength = length;
    }
    if (avail < length) return this.wait();
    const frame = this.buf.subarray(this.start, this.start + length);
    this.start += length;
    this.pendingLength = -1;
    if (this.start === this.end) {
      // Rewind so the next straddling message is copied to the front without a compaction.
      this.start = 0;
      this.end = 0;
      if (this.owned && this.buf.length > SHRINK_ABOVE) this.release();
    }
    return frame;
  }

  /** Out of whole messages: stop referencing a borrowed chunk by copying its partial tail. */
  private wait(): null {
    const pending = this.end - this.start;
    if (this.owned || pending === 0) return null;
    const spare = this.spare;
    const target = spare !== null && spare.length >= pending ? spare : Buffer.allocUnsafe(Math.max(INITIAL_CAPACITY, pending));
    this.buf.copy(target, 0, this.start, this.end);
    this.buf = target;
    this.owned = true;
    this.spare = null;
    this.start = 0;
    this.end = pending;
    return null;
  }

  /** Drop buffered data, e.g. when the session goes down. */
  reset(): void {
    this.release();
    this.failure = null;
    this.pendingLength = -1;
  }

  private release(): void {
    this.buf = EMPTY;
    this.owned = false;
    this.spare = null;
    this.start = 0;
    this.end = 0;
  }
}
