/**
 * A bounds-checked cursor over a Buffer (OpenBGPD's ibuf idea). It never reads past `end`, and
 * running short raises the BgpError its owner chose for that context — never a RangeError.
 */
import type { Buffer } from 'node:buffer';
import type { BgpError } from './errors.js';

export type ShortError = () => BgpError;

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  private readonly short: ShortError;

  constructor(buf: Buffer, pos: number, end: number, short: ShortError) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.short = short;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  need(n: number): void {
    if (this.end - this.pos < n) throw this.short();
  }

  u8(): number {
    if (this.pos >= this.end) throw this.short();
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.end - this.pos < 2) throw this.short();
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    if (this.end - this.pos < 4) throw this.short();
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A zero-copy view of the next n bytes. Callers that keep it beyond the message must copy. */
  view(n: number): Buffer {
    if (n < 0 || this.end - this.pos < n) throw this.short();
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** An owned copy of the next n bytes. */
  copy(n: number): Uint8Array {
    return Uint8Array.from(this.view(n));
  }

  skip(n: number): void {
    if (n < 0 || this.end - this.pos < n) throw this.short();
    this.pos += n;
  }

  /** A child reader over the next n bytes, with its own "ran short" error. */
  sub(n: number, short: ShortError = this.short): Reader {
    if (n < 0 || this.end - this.pos < n) throw this.short();
    const r = new Reader(this.buf, this.pos, this.pos + n, short);
    this.pos += n;
    return r;
  }

  /** The rest of this reader as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}
