/**
 * A minimal BGP speaker for the benchmark feeder: connect (optionally from a given source
 * address), OPEN / KEEPALIVE handshake, then write pre-encoded UPDATE bytes as fast as TCP takes
 * them, keep the session alive, and count the prefixes the other side sends (mesh runs).
 * It keeps no RIB beyond a set of received prefixes and never checks the receiver's hold timer
 * against its own load: a feeder must not be the bottleneck or the one that drops a session.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { Buffer } from 'node:buffer';
import { Framer } from '../../proto/framer.js';
import { KEEPALIVE, peekType } from '../../proto/messages.js';
import { decodeOpen, encodeOpen, makeOpen, openAsn, openCapabilities } from '../../proto/open.js';
import { decodeUpdate } from '../../proto/update.js';
import { decodeNotification, encodeNotification } from '../../proto/notification.js';
import { MessageType } from '../../proto/constants.js';
import { parseIpv4 } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';
import type { Capability, CodecContext } from '../../proto/types.js';

export interface SessionOptions {
  readonly remote: string;
  readonly port?: number;
  /** Source address (bind before connect). */
  readonly local?: string;
  readonly localAs: number;
  readonly routerId: string;
  readonly holdTimeSec: number;
  /** Families to announce in OPEN: 4, 6 or both. */
  readonly families: readonly (4 | 6)[];
  /** Track prefixes the peer announces (costs a decode per UPDATE). */
  readonly trackReceived?: boolean;
  readonly connectTimeoutMs?: number;
}

export type SessionState = 'Idle' | 'Connect' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed';

/** Wall-clock milliseconds with sub-ms precision, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface DownInfo {
  readonly reason: string;
  readonly atMs: number;
}

export class FeederSession extends EventEmitter {
  state: SessionState = 'Idle';
  private sock: net.Socket | null = null;
  private readonly framer = new Framer();
  private keepaliveTimer: NodeJS.Timeout | null = null;
  rx: CodecContext = { fourOctetAs: false, extendedMessage: false, addPath: new Set() };
  tx: CodecContext = { fourOctetAs: false, extendedMessage: false, addPath: new Set() };
  peerAs = 0;
  holdTimeSec = 0;
  establishedMs = 0;
  down: DownInfo | null = null;
  /** Prefixes currently announced by the peer (trackReceived only). */
  readonly received = new Set<Prefix>();
  updatesIn = 0;
  keepalivesIn = 0;
  /** Longest gap between two messages from the peer once Established (ms). */
  maxGapMs = 0;
  private lastInMs = 0;

  constructor(readonly opts: SessionOptions) {
    super();
  }

  /** Connect and complete the handshake; resolves when Established. */
  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const o = this.opts;
      this.state = 'Connect';
      const sock = net.connect({ host: o.remote, port: o.port ?? 179, ...(o.local === undefined ? {} : { localAddress: o.local }) });
      this.sock = sock;
      sock.setNoDelay(true);
      const timer = setTimeout(() => fail(new Error(`connect to ${o.remote} from ${o.local ?? '*'}: timed out`)), o.connectTimeoutMs ?? 30_000);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        this.close(err.message);
        reject(err);
      };
      this.once('established', () => {
        clearTimeout(timer);
        resolve();
      });
      this.once('down', (d: DownInfo) => {
        if (this.state !== 'Established' && this.establishedMs === 0) {
          clearTimeout(timer);
          reject(new Error(`session ${o.local ?? ''} -> ${o.remote} closed before Established: ${d.reason}`));
        }
      });
      sock.once('connect', () => {
        const caps: Capability[] = [];
        for (const f of o.families) caps.push({ type: 'multiprotocol', afi: f === 4 ? 1 : 2, safi: 1 });
        caps.push({ type: 'route-refresh' }, { type: 'four-octet-as', asn: o.localAs });
        const id = parseIpv4(o.routerId);
        if (id === null) throw new Error(`bad router id ${o.routerId}`);
        sock.write(encodeOpen(makeOpen({ asn: o.localAs, holdTimeSec: o.holdTimeSec, bgpId: id, capabilities: caps })));
        this.state = 'OpenSent';
      });
      sock.on('data', (chunk: Buffer) => this.onData(chunk));
      sock.on('error', (err) => this.close(`socket: ${err.message}`));
      sock.on('close', () => this.close('connection closed by peer'));
    });
  }

  private onData(chunk: Buffer): void {
    this.framer.push(chunk);
    for (;;) {
      let frame: Buffer | null;
      try {
        frame = this.framer.next();
      } catch (e) {
        this.close(`framing error: ${String(e)}`);
        return;
      }
      if (frame === null) return;
      this.onFrame(frame);
      if (this.state === 'Closed') return;
    }
  }

  private onFrame(frame: Buffer): void {
    const type = peekType(frame);
    const now = wallMs();
    if (this.state === 'Established') {
      if (this.lastInMs > 0) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastInMs);
      this.lastInMs = now;
    }
    switch (type) {
      case MessageType.Open: {
        const open = decodeOpen(frame);
        const caps = openCapabilities(open);
        const four = caps.some((c) => c.type === 'four-octet-as');
        this.peerAs = openAsn(open);
        this.holdTimeSec = Math.min(open.holdTimeSec, this.opts.holdTimeSec);
        this.rx = { fourOctetAs: four, extendedMessage: false, addPath: new Set() };
        this.tx = this.rx;
        this.sock?.write(KEEPALIVE);
        this.state = 'OpenConfirm';
        return;
      }
      case MessageType.Keepalive:
        this.keepalivesIn++;
        if (this.state === 'OpenConfirm') {
          this.state = 'Established';
          this.establishedMs = now;
          this.lastInMs = now;
          if (this.holdTimeSec > 0) {
            this.keepaliveTimer = setInterval(() => this.sock?.write(KEEPALIVE), Math.max(1000, (this.holdTimeSec * 1000) / 3));
          }
          this.emit('established');
        }
        return;
      case MessageType.Update: {
        this.updatesIn++;
        if (this.opts.trackReceived !== true) return;
        const o = decodeUpdate(frame, this.rx);
        const m = o.message;
        const added: Prefix[] = [];
        for (const p of m.withdrawn) this.received.delete(p);
        if (m.mpUnreach !== undefined) for (const p of m.mpUnreach.withdrawn) this.received.delete(p);
        for (const p of m.nlri) {
          this.received.add(p);
          added.push(p);
        }
        if (m.mpReach !== undefined) {
          for (const p of m.mpReach.nlri) {
            this.received.add(p);
            added.push(p);
          }
        }
        if (added.length > 0 || m.withdrawn.length > 0) this.emit('prefixes', added, now);
        return;
      }
      case MessageType.Notification: {
        const n = decodeNotification(frame);
        this.close(`NOTIFICATION received: code ${n.code} subcode ${n.subcode}`);
        return;
      }
      default:
        return;
    }
  }

  /** Write bytes; resolves when they have been handed to the kernel. */
  write(buf: Buffer): Promise<void> {
    const s = this.sock;
    if (s === null || this.state === 'Closed') return Promise.reject(new Error('session closed'));
    return new Promise<void>((resolve, reject) => {
      s.write(buf, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Write several buffers in order, waiting for TCP to drain between them (bounded memory). */
  async writeAll(chunks: readonly Buffer[]): Promise<void> {
    for (const c of chunks) await this.write(c);
  }

  /** Send Cease and close. */
  cease(): void {
    if (this.sock !== null && this.state === 'Established') {
      this.sock.write(encodeNotification({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) }, this.tx));
    }
    this.close('cease sent', true);
  }

  close(reason: string, byUs = false): void {
    if (this.state === 'Closed') return;
    const wasEstablished = this.state === 'Established';
    this.state = 'Closed';
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
    const s = this.sock;
    this.sock = null;
    if (s !== null) {
      if (byUs) s.end();
      else s.destroy();
    }
    this.down = { reason, atMs: wallMs() };
    this.emit('down', this.down, wasEstablished && !byUs);
  }
}
