// A raw BGP peer for the hardening tests, driven from the test process: proto/ builds its OPEN,
// KEEPALIVE and valid UPDATEs; anything else is sent as the exact bytes a test hands it. Its TCP
// connection is either a plain socket (127.0.0.0/8) or lives in a lab namespace behind relay.ts.
// Everything wren sends is framed and recorded (type, and code/subcode/data for NOTIFICATIONs).
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';
import { MessageType } from '../../../proto/constants.js';
import { Framer } from '../../../proto/framer.js';
import { encodeMessage } from '../../../proto/messages.js';
import { decodeNotification } from '../../../proto/notification.js';
import { decodeOpen } from '../../../proto/open.js';
import { encodeUpdate } from '../../../proto/update.js';
import { packUpdates } from '../../../proto/packer.js';
import { Family } from '../../../proto/types.js';
import { parseIpv4, prefix4 } from '../../../proto/prefix.js';
import type { Capability, CodecContext, OpenMessage, PathAttributes } from '../../../proto/types.js';
import { repoRoot } from '../../lab/lib/paths.js';
import type { RelayTarget } from './relay.js';

export interface Received {
  readonly type: number;
  readonly length: number;
  readonly at: number;
  readonly code?: number;
  readonly subcode?: number;
  /** NOTIFICATION data, hex. */
  readonly data?: string;
  readonly holdTimeSec?: number;
}

export interface OpenOptions {
  readonly asn: number;
  readonly bgpId: string;
  readonly holdTimeSec?: number;
  /** Send the 4-octet AS capability (default true). */
  readonly fourOctetAs?: boolean;
  /** ADD-PATH for these families (afi<<8|safi), mode both. */
  readonly addPath?: readonly number[];
  readonly extendedMessage?: boolean;
  /** Extra capabilities appended to the OPEN. */
  readonly extraCaps?: readonly Capability[];
}

export class PeerClosedError extends Error {}

function ipv4(text: string): number {
  const v = parseIpv4(text);
  if (v === null) throw new Error(`not an IPv4 address: ${text}`);
  return v;
}

/** "a.b.c.d/len" to proto/'s compact IPv4 prefix. */
export function p4(text: string): number {
  const [a, l] = text.split('/');
  return prefix4(ipv4(a ?? ''), Number(l));
}

export class RawBgp {
  readonly received: Received[] = [];
  /** The codec context wren uses towards us, once established. */
  ctx: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
  readonly closed: Promise<void>;
  private readonly framer = new Framer({ extendedMessage: true });
  private waiters: (() => void)[] = [];
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private isClosed = false;
  bytesIn = 0;

  private constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly kill: () => void,
    closed: Promise<void>,
  ) {
    this.closed = closed.then(() => {
      this.isClosed = true;
      this.stopKeepalives();
      this.wake();
    });
    input.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      this.framer.push(chunk);
      for (;;) {
        let f: Buffer | null;
        try {
          f = this.framer.next();
        } catch {
          break;
        }
        if (f === null) break;
        this.record(f);
      }
      this.wake();
    });
    output.on('error', () => undefined);
  }

  /** A plain TCP connection from this process (127.0.0.0/8 only). */
  static async tcp(target: RelayTarget): Promise<RawBgp> {
    const sock = net.connect({ host: target.host, port: target.port, ...(target.localAddress === undefined ? {} : { localAddress: target.localAddress }) });
    sock.setNoDelay(true);
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    sock.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('close', () => reject(new PeerClosedError(`connect to ${target.host}:${target.port} failed`)));
    });
    return new RawBgp(sock, sock, () => sock.destroy(), closed);
  }

  /** A TCP connection made inside namespace `ns` through relay.ts. */
  static async inNamespace(ns: string, target: RelayTarget, timeoutMs = 20_000): Promise<RawBgp> {
    const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'node', join(repoRoot(), 'dist/test/hardening/lib/relay.js'), JSON.stringify(target)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`relay in ${ns}: no connection after ${timeoutMs} ms`));
      }, timeoutMs);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('CONNECTED')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void closed.then(() => {
        clearTimeout(timer);
        reject(new PeerClosedError(`relay in ${ns} exited: ${err.trim()}`));
      });
    });
    return new RawBgp(child.stdout!, child.stdin!, () => child.kill('SIGKILL'), closed);
  }

  /** Connect (retrying while wren refuses or resets, e.g. during its error-wait back-off) and establish. */
  static async establish(connect: () => Promise<RawBgp>, open: OpenOptions, timeoutMs = 60_000): Promise<RawBgp> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      let c: RawBgp | null = null;
      try {
        c = await connect();
        await c.handshake(open, Math.min(15_000, Math.max(1000, until - Date.now())));
        return c;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
        c?.destroy();
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    throw new Error(`could not establish a session in ${timeoutMs} ms: ${last}`);
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  private record(f: Buffer): void {
    const type = f[18] ?? 0;
    const r: Received = { type, length: f.length, at: Date.now() };
    if (type === MessageType.Notification) {
      try {
        const n = decodeNotification(f);
        this.received.push({ ...r, code: n.code, subcode: n.subcode, data: Buffer.from(n.data).toString('hex') });
        return;
      } catch {
        // recorded below without detail
      }
    }
    if (type === MessageType.Open) {
      try {
        const o = decodeOpen(f);
        this.received.push({ ...r, holdTimeSec: o.holdTimeSec });
        return;
      } catch {
        // below
      }
    }
    this.received.push(r);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves when `pred` holds over the received messages; rejects on timeout (or close, unless the close satisfies it). */
  async waitFor<T>(pred: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      if (this.isClosed) throw new PeerClosedError(`connection closed while waiting for ${what}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timeout (${timeoutMs} ms) waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send OPEN, wait for wren's OPEN and KEEPALIVE, answer with KEEPALIVE; keepalives then run every `holdTime/3`. */
  async handshake(o: OpenOptions, timeoutMs = 15_000): Promise<void> {
    const caps: Capability[] = [{ type: 'multiprotocol', afi: 1, safi: 1 }, { type: 'route-refresh' }];
    const four = o.fourOctetAs ?? true;
    if (four) caps.push({ type: 'four-octet-as', asn: o.asn });
    if (o.addPath !== undefined && o.addPath.length > 0) caps.push({ type: 'add-path', families: o.addPath.map((f) => ({ afi: f >> 8, safi: f & 0xff, mode: 3 })) });
    if (o.extendedMessage === true) caps.push({ type: 'extended-message' });
    caps.push(...(o.extraCaps ?? []));
    const hold = o.holdTimeSec ?? 30;
    const open: OpenMessage = { type: 'open', version: 4, myAs: o.asn > 0xffff ? 23456 : o.asn, holdTimeSec: hold, bgpId: ipv4(o.bgpId), params: [{ type: 'capabilities', capabilities: caps }] };
    this.ctx = { fourOctetAs: four, extendedMessage: false, addPath: new Set(o.addPath ?? []) };
    const start = this.received.length;
    this.write(encodeMessage(open, this.ctx));
    await this.waitFor(() => {
      const got = this.received.slice(start);
      const n = got.find((m) => m.type === MessageType.Notification);
      if (n !== undefined) throw new PeerClosedError(`NOTIFICATION ${n.code}/${n.subcode} during the handshake`);
      return got.some((m) => m.type === MessageType.Open) ? true : undefined;
    }, timeoutMs, 'OPEN from wren');
    this.write(encodeMessage({ type: 'keepalive' }, this.ctx));
    await this.waitFor(() => (this.received.slice(start).some((m) => m.type === MessageType.Keepalive) ? true : undefined), timeoutMs, 'KEEPALIVE from wren');
    const ka = Math.max(1, Math.floor(hold / 3)) * 1000;
    this.keepaliveTimer = setInterval(() => {
      if (!this.isClosed) this.write(encodeMessage({ type: 'keepalive' }, this.ctx));
    }, ka);
  }

  stopKeepalives(): void {
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }

  /** Returns false when the transport's buffer is full (wait for drain). */
  write(b: Buffer): boolean {
    if (this.isClosed) return false;
    return this.output.write(b);
  }

  async writeDrained(b: Buffer): Promise<void> {
    if (!this.write(b) && !this.isClosed) {
      await Promise.race([new Promise<void>((resolve) => this.output.once('drain', () => resolve())), this.closed]);
    }
  }

  /** A valid UPDATE announcing IPv4 prefixes from this peer. */
  announce(prefixes: readonly string[], attrs: PathAttributes): Buffer {
    return encodeUpdate({ type: 'update', withdrawn: [], attrs, nlri: prefixes.map(p4), ...(this.ctx.addPath.has(257) ? { nlriPathIds: prefixes.map(() => 1) } : {}) }, this.ctx);
  }

  /** Packed UPDATEs (proto/packer.ts) announcing compact IPv4 prefixes with one attribute set. */
  packAnnounce(prefixes: readonly number[], attrs: PathAttributes): Buffer[] {
    const out: Buffer[] = [];
    const ids = this.ctx.addPath.has(257) ? { pathIds: prefixes.map(() => 1) } : {};
    packUpdates(Family.Ipv4Unicast, [], [{ attrs, prefixes, ...ids }], this.ctx, (m) => out.push(m));
    return out;
  }

  /** Send messages with backpressure. */
  async sendAll(msgs: readonly Buffer[]): Promise<void> {
    for (const m of msgs) await this.writeDrained(m);
  }

  withdraw(prefixes: readonly string[]): Buffer {
    return encodeUpdate({ type: 'update', withdrawn: prefixes.map(p4), attrs: null, nlri: [], ...(this.ctx.addPath.has(257) ? { withdrawnPathIds: prefixes.map(() => 1) } : {}) }, this.ctx);
  }

  notifications(from = 0): Received[] {
    return this.received.slice(from).filter((m) => m.type === MessageType.Notification);
  }

  pause(): void {
    this.input.pause();
  }

  resume(): void {
    this.input.resume();
  }

  /** Half-close and wait for the other side (bounded). */
  async end(timeoutMs = 3000): Promise<void> {
    this.stopKeepalives();
    this.output.end();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, timeoutMs))]);
    this.destroy();
  }

  destroy(): void {
    this.stopKeepalives();
    this.kill();
  }
}
