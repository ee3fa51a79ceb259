/**
 * One growable output buffer. Lengths are written as placeholders and back-patched once the body
 * is known (holo's MSG_LEN_POS), so nothing is encoded twice.
 */
import { Buffer } from 'node:buffer';

export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.grow(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.grow(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.grow(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  fill(v: number, n: number): this {
    this.grow(n);
    this.buf.fill(v, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Reserve a 1- or 2-octet length field; returns its offset for patchLength. */
  reserve(width: 1 | 2): number {
    const at = this.pos;
    if (width === 1) this.u8(0);
    else this.u16(0);
    return at;
  }

  /** Patch the length field at `at` with the number of bytes written since it (excluding itself). */
  patchLength(at: number, width: 1 | 2): number {
    const len = this.pos - at - width;
    if (width === 1) this.buf[at] = len;
    else {
      this.buf[at] = (len >>> 8) & 0xff;
      this.buf[at + 1] = len & 0xff;
    }
    return len;
  }

  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** Bytes written so far, as an owned copy. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Bytes written so far, as a view (valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}
