/**
 * The real Fib: rtnetlink through the `netlink` package's RawNetlinkSocket (sockets, sendmsg,
 * multicast membership), with wren's own encoder and a pipelined request engine on top.
 *
 * Why not `RtNetlinkSocket.newRoute`: it is one request, one ACK, one promise per route; the
 * kernel handles each sendmsg synchronously, so the per-route event-loop round trip caps it far
 * below 100k routes/s. Instead writes are packed `batchSize` messages per sendmsg; only the last
 * message of a batch asks for an ACK (the barrier), while failures are reported by the kernel for
 * every message regardless of NLM_F_ACK. Replies arrive in request order, so when the barrier's
 * reply arrives every earlier error of that batch has been seen, and messages without one
 * succeeded. Up to `maxInflightBatches` batches are outstanding; the bound keeps worst-case error
 * replies within the receive buffer. If the socket still overruns (ENOBUFS), outstanding
 * messages are reported as failed with ENOBUFS and the caller retries: every write is idempotent.
 *
 * A netlink socket belongs to the network namespace of the process that opened it; tests run
 * this module in a child started with `ip netns exec`.
 */
import { RawNetlinkSocket } from 'netlink';
import type { Prefix } from '../../proto/prefix.js';
import type { KernelRoute } from '../../rib/kernel-types.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  ERRNO,
  IFF,
  NETLINK_ROUTE,
  NLMSG,
  NLM_F,
  RTM,
  RTN,
  RTNH_F,
  RTNLGRP,
  RTPROT_BIRD,
  RT_TABLE_MAIN,
} from './constants.js';
import {
  decodeError,
  decodeLink,
  decodeRoute,
  encodeDelRoute,
  encodeDumpRequest,
  encodeNewRoute,
  maxRouteMessageSize,
  splitMessages,
} from './codec.js';
import type { DecodedLink, DecodedRoute, NlHeader, WireNextHop, WireRoute } from './codec.js';
import { FIB_OK, fibError } from './fib.js';
import type { Fib, FibEvent, FibRoute, FibResult, FibWrite } from './fib.js';

export interface NetlinkFibOptions {
  readonly table?: number;
  readonly protocol?: number;
  /** Messages per sendmsg. */
  readonly batchSize?: number;
  readonly maxInflightBatches?: number;
  readonly requestTimeoutMs?: number;
  /** SO_RCVBUF; the kernel caps it at net.core.rmem_max (and doubles it). */
  readonly recvBufferBytes?: number;
}

interface Batch {
  readonly firstSeq: number;
  readonly count: number;
  readonly buf: Buffer;
  /** Index into the caller's result array for each message of the batch. */
  readonly slots: Int32Array;
  readonly results: (FibResult | undefined)[];
  readonly onDone: () => void;
  timer: NodeJS.Timeout | null;
}

interface DumpCollector {
  readonly seq: number;
  readonly rows: DecodedRoute[] | DecodedLink[];
  readonly kind: 'route' | 'link';
  interrupted: boolean;
  readonly resolve: (r: { rows: DecodedRoute[] | DecodedLink[]; interrupted: boolean }) => void;
  readonly reject: (e: Error) => void;
}

interface LinkState {
  readonly name: string;
  readonly flags: number;
}

export class NetlinkFib implements Fib {
  readonly table: number;
  readonly protocol: number;
  private readonly batchSize: number;
  private readonly maxInflight: number;
  private readonly timeoutMs: number;
  private readonly recvBufferBytes: number;
  private writeSock: RawNetlinkSocket | null = null;
  private watchSock: RawNetlinkSocket | null = null;
  private writePort = 0;
  private seq = 1;
  private readonly queued: Batch[] = [];
  private readonly inflight: Batch[] = [];
  private dumpQueue: Promise<unknown> = Promise.resolve();
  private readonly dumps = new Map<number, DumpCollector>();
  private readonly links = new Map<number, LinkState>();
  private readonly ifindexByName = new Map<string, number>();
  private readonly listeners = new Set<(e: FibEvent) => void>();
  /**
   * Writes sent whose notification has not been read from the watch socket yet. The kernel
   * multicasts every route change to the watch socket, and netlink 0.3.0 aborts the process when
   * a socket overruns (libuv reports EPOLLERR as UV_EBADF and the binding then builds an error with
   * a NULL syscall name). Its receive loop reads only 32 datagrams per poll, so without pacing our
   * own echoes outrun it at about 11k routes; new batches wait while the debt is high.
   */
  private echoDebt = 0;
  private readonly maxEchoDebt: number;
  private stallTimer: NodeJS.Timeout | null = null;
  private lastEchoAt = 0;

  constructor(opts: NetlinkFibOptions = {}) {
    this.table = opts.table ?? RT_TABLE_MAIN;
    this.protocol = opts.protocol ?? RTPROT_BIRD;
    this.batchSize = opts.batchSize ?? 256;
    this.maxInflight = opts.maxInflightBatches ?? 8;
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.recvBufferBytes = opts.recvBufferBytes ?? 4 << 20;
    this.maxEchoDebt = Math.max(this.batchSize, 2048);
  }

  async open(): Promise<void> {
    if (this.writeSock !== null) return;
    const w = new RawNetlinkSocket(NETLINK_ROUTE, { recvBufferSize: this.recvBufferBytes, sendBufferSize: 1 << 20 });
    // No peeking on the watch socket: one recvmsg per notification instead of two, the cost that
    // bounds how fast our own echoes drain. Notifications are single small messages; a link
    // message longer than the buffer arrives truncated, and its header and IFLA_IFNAME (early
    // attributes) are all we read.
    const watch = new RawNetlinkSocket(NETLINK_ROUTE, {
      recvBufferSize: this.recvBufferBytes,
      sendBufferSize: 1 << 16,
      messagePeeking: false,
      msgBufferSize: 512,
    });
    this.writeSock = w;
    this.watchSock = watch;
    this.writePort = w.address().port;
    w.on('message', (buf) => this.onWriteMessage(buf));
    w.on('error', (err) => this.onWriteError(err.errno));
    watch.on('message', (buf) => this.onWatchMessage(buf, false));
    watch.on('truncatedMessage', (buf) => this.onWatchMessage(buf, true));
    watch.on('error', (err) => {
      if (Math.abs(err.errno) === ERRNO.ENOBUFS) this.emit({ type: 'overrun' });
    });
    // Join before the first link dump so no change falls between the dump and the subscription.
    watch.addMembership(RTNLGRP.LINK);
    watch.addMembership(RTNLGRP.IPV4_ROUTE);
    watch.addMembership(RTNLGRP.IPV6_ROUTE);
    const { rows } = await this.runDump('link', AF_UNSPEC);
    for (const l of rows as DecodedLink[]) {
      if (l.name !== null) this.setLink(l.ifindex, l.name, l.flags);
    }
  }

  async close(): Promise<void> {
    const err = new Error('netlink fib closed');
    for (const d of this.dumps.values()) d.reject(err);
    this.dumps.clear();
    for (const b of [...this.inflight, ...this.queued]) this.finish(b, ERRNO.ETIMEDOUT);
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.writeSock?.close();
    this.watchSock?.close();
    this.writeSock = null;
    this.watchSock = null;
  }

  subscribe(listener: (event: FibEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** ifindex of a device by name, for tests and `show kernel`. */
  linkIndex(name: string): number | undefined {
    return this.ifindexByName.get(name);
  }

  // --- writes -------------------------------------------------------------------------------

  apply(writes: readonly FibWrite[]): Promise<readonly FibResult[]> {
    const results: FibResult[] = new Array<FibResult>(writes.length);
    if (this.writeSock === null) {
      results.fill(fibError(ERRNO.ENODEV, 'netlink socket not open'));
      return Promise.resolve(results);
    }
    return new Promise((resolve) => {
      let pending = 0;
      let sealed = false;
      const onBatchDone = (): void => {
        pending--;
        if (sealed && pending === 0) resolve(results);
      };
      let batch: { buf: Buffer; off: number; slots: number[]; firstSeq: number } | null = null;
      const seal = (): void => {
        if (batch === null || batch.slots.length === 0) return;
        // The barrier: ACK only the batch's last message.
        const lastOff = this.lastMessageOffset(batch.buf, batch.off);
        batch.buf.writeUInt16LE(batch.buf.readUInt16LE(lastOff + 6) | NLM_F.ACK, lastOff + 6);
        pending++;
        const b: Batch = {
          firstSeq: batch.firstSeq,
          count: batch.slots.length,
          buf: batch.buf.subarray(0, batch.off),
          slots: Int32Array.from(batch.slots),
          results,
          onDone: onBatchDone,
          timer: null,
        };
        this.queued.push(b);
        batch = null;
      };
      for (let i = 0; i < writes.length; i++) {
        const w = writes[i]!;
        let wire: WireRoute | null = null;
        if (w.op === 'replace') {
          const r = this.toWire(w.route);
          if (!r.ok) {
            results[i] = r.error;
            continue;
          }
          wire = r.wire;
        }
        if (batch === null) {
          // Sequence numbers of a batch are contiguous; restart well before 2^32 wraps.
          if (this.seq + this.batchSize >= 0x7fffffff) this.seq = 1;
          batch = { buf: Buffer.allocUnsafe(this.batchSize * maxRouteMessageSize(4)), off: 0, slots: [], firstSeq: this.seq };
        }
        const seq = this.seq++;
        const h = {
          seq,
          pid: this.writePort,
          table: this.table,
          protocol: this.protocol,
          flags: NLM_F.REQUEST | (w.op === 'replace' ? NLM_F.CREATE | (w.exclusive ? NLM_F.EXCL : NLM_F.REPLACE) : 0),
        };
        const need = w.op === 'replace' && wire !== null && wire.kind === 'unicast' ? maxRouteMessageSize(wire.nextHops.length) : maxRouteMessageSize(1);
        if (batch.off + need > batch.buf.length) {
          const grown = Buffer.allocUnsafe(batch.buf.length * 2 + need);
          batch.buf.copy(grown, 0, 0, batch.off);
          batch.buf = grown;
        }
        batch.off = wire !== null
          ? encodeNewRoute(batch.buf, batch.off, wire, h)
          : encodeDelRoute(batch.buf, batch.off, (w as { prefix: Prefix }).prefix, (w as { priority: number | null }).priority, h);
        batch.slots.push(i);
        if (batch.slots.length >= this.batchSize) seal();
      }
      seal();
      sealed = true;
      if (pending === 0) resolve(results);
      this.pump();
    });
  }

  private lastMessageOffset(buf: Buffer, end: number): number {
    let off = 0;
    let last = 0;
    while (off < end) {
      last = off;
      off += (buf.readUInt32LE(off) + 3) & ~3;
    }
    return last;
  }

  private toWire(route: KernelRoute): { ok: true; wire: WireRoute } | { ok: false; error: FibResult } {
    if (route.kind === 'blackhole') return { ok: true, wire: route };
    const hops: WireNextHop[] = [];
    for (const nh of route.nextHops) {
      let ifindex = 0;
      if (nh.device !== undefined) {
        const idx = this.ifindexByName.get(nh.device);
        if (idx === undefined) return { ok: false, error: fibError(ERRNO.ENODEV, `device ${nh.device} not found`) };
        ifindex = idx;
      }
      if (typeof nh.gateway !== typeof route.prefix) {
        return { ok: false, error: fibError(ERRNO.EINVAL, 'gateway family differs from the prefix family') };
      }
      hops.push({ gateway: nh.gateway, ifindex, onlink: nh.onlink });
    }
    if (hops.length === 0) return { ok: false, error: fibError(ERRNO.EINVAL, 'unicast route without next hop') };
    return { ok: true, wire: { kind: 'unicast', prefix: route.prefix, nextHops: hops } };
  }

  private pump(): void {
    const sock = this.writeSock;
    if (sock === null) return;
    while (this.inflight.length < this.maxInflight && this.queued.length > 0) {
      if (this.echoDebt >= this.maxEchoDebt) {
        this.armStallGuard();
        return;
      }
      const b = this.queued.shift()!;
      this.inflight.push(b);
      this.echoDebt += b.count;
      b.timer = setTimeout(() => this.finish(b, ERRNO.ETIMEDOUT), this.timeoutMs);
      b.timer.unref();
      sock.send(b.buf, {}, (err) => {
        if (err !== undefined) this.finish(b, Math.abs(err.errno));
      });
    }
  }

  /**
   * If echoes stop arriving while writes wait on them (a write that made no notification, e.g. a
   * delete of a missing route), forget the debt rather than stall.
   */
  private armStallGuard(): void {
    if (this.stallTimer !== null) return;
    const started = this.lastEchoAt;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.lastEchoAt === started) this.echoDebt = 0;
      this.pump();
    }, 20);
  }

  /** Complete a batch: messages without a recorded outcome get `errno` (0: success). */
  private finish(b: Batch, errno: number): void {
    const i = this.inflight.indexOf(b);
    if (i >= 0) this.inflight.splice(i, 1);
    else {
      const q = this.queued.indexOf(b);
      if (q < 0) return; // already finished
      this.queued.splice(q, 1);
    }
    if (b.timer !== null) clearTimeout(b.timer);
    const fill = errno === 0 ? FIB_OK : fibError(errno);
    for (let k = 0; k < b.count; k++) {
      const slot = b.slots[k]!;
      if (b.results[slot] === undefined) b.results[slot] = fill;
    }
    b.onDone();
    this.pump();
  }

  private batchFor(seq: number): Batch | undefined {
    for (const b of this.inflight) if (seq >= b.firstSeq && seq < b.firstSeq + b.count) return b;
    return undefined;
  }

  private onWriteError(errno: number): void {
    // Replies were dropped: which outstanding messages failed is unknowable.
    const e = Math.abs(errno);
    for (const b of [...this.inflight]) this.finish(b, e);
    for (const d of this.dumps.values()) d.reject(Object.assign(new Error(`netlink dump failed: errno ${e}`), { errno: e }));
    this.dumps.clear();
  }

  private onWriteMessage(buf: Buffer): void {
    for (const h of splitMessages(buf)) {
      const dump = this.dumps.get(h.seq);
      if (dump !== undefined) {
        this.onDumpPart(dump, buf, h);
        continue;
      }
      if (h.type !== NLMSG.ERROR) continue;
      const { errno, seq } = decodeError(buf, h);
      const b = this.batchFor(seq);
      if (b === undefined) continue;
      const idx = seq - b.firstSeq;
      const slot = b.slots[idx]!;
      if (errno !== 0) {
        if (this.echoDebt > 0) this.echoDebt--; // a failed write makes no notification
        // Deleting what is already gone is success: the goal "not in the kernel" holds.
        const isDel = this.isDelete(b, idx);
        b.results[slot] = isDel && (errno === ERRNO.ESRCH || errno === ERRNO.ENOENT) ? FIB_OK : fibError(errno);
      }
      if (idx === b.count - 1) this.finish(b, 0);
    }
  }

  private isDelete(b: Batch, idx: number): boolean {
    let off = 0;
    for (let k = 0; k < idx; k++) off += (b.buf.readUInt32LE(off) + 3) & ~3;
    return b.buf.readUInt16LE(off + 4) === RTM.DELROUTE;
  }

  // --- dumps --------------------------------------------------------------------------------

  private runDump(kind: 'route' | 'link', family: number): Promise<{ rows: DecodedRoute[] | DecodedLink[]; interrupted: boolean }> {
    // One dump at a time per socket: the kernel refuses a second (EBUSY) while one is running.
    const run = (): Promise<{ rows: DecodedRoute[] | DecodedLink[]; interrupted: boolean }> =>
      new Promise((resolve, reject) => {
        const sock = this.writeSock;
        if (sock === null) {
          reject(new Error('netlink fib not open'));
          return;
        }
        if (this.seq >= 0x7fffffff) this.seq = 1;
        const seq = this.seq++;
        const d: DumpCollector = { seq, rows: [], kind, interrupted: false, resolve, reject };
        this.dumps.set(seq, d);
        sock.send(encodeDumpRequest(kind === 'route' ? RTM.GETROUTE : RTM.GETLINK, family, seq, this.writePort), {}, (err) => {
          if (err !== undefined) {
            this.dumps.delete(seq);
            reject(err);
          }
        });
      });
    const p = this.dumpQueue.then(run, run);
    this.dumpQueue = p.catch(() => undefined);
    return p;
  }

  private onDumpPart(d: DumpCollector, buf: Buffer, h: NlHeader): void {
    if ((h.flags & NLM_F.DUMP_INTR) !== 0) d.interrupted = true;
    if (h.type === NLMSG.DONE) {
      this.dumps.delete(d.seq);
      d.resolve({ rows: d.rows, interrupted: d.interrupted });
      return;
    }
    if (h.type === NLMSG.ERROR) {
      const { errno } = decodeError(buf, h);
      this.dumps.delete(d.seq);
      d.reject(Object.assign(new Error(`netlink dump failed: errno ${errno}`), { errno }));
      return;
    }
    if (d.kind === 'route' && h.type === RTM.NEWROUTE) {
      const r = decodeRoute(buf, h);
      if (r !== null && r.table === this.table && r.protocol === this.protocol) (d.rows as DecodedRoute[]).push(r);
    } else if (d.kind === 'link' && h.type === RTM.NEWLINK) {
      const l = decodeLink(buf, h);
      if (l !== null) (d.rows as DecodedLink[]).push(l);
    }
  }

  async dump(): Promise<readonly FibRoute[]> {
    // Without NETLINK_GET_STRICT_CHK (not settable through the package) the kernel dumps every
    // table; filtering happens while decoding. An interrupted dump (NLM_F_DUMP_INTR) is retried.
    for (let attempt = 0; ; attempt++) {
      const v4 = await this.runDump('route', AF_INET);
      const v6 = await this.runDump('route', AF_INET6);
      if ((v4.interrupted || v6.interrupted) && attempt < 3) continue;
      const out: FibRoute[] = [];
      for (const r of [...(v4.rows as DecodedRoute[]), ...(v6.rows as DecodedRoute[])]) out.push(this.toFibRoute(r));
      return out;
    }
  }

  private toFibRoute(r: DecodedRoute): FibRoute {
    if (r.type === RTN.BLACKHOLE) return { kind: 'blackhole', prefix: r.prefix, priority: r.priority };
    if (r.type !== RTN.UNICAST || r.nextHops.length === 0) {
      return { kind: 'other', prefix: r.prefix, priority: r.priority, rtType: r.type };
    }
    return {
      kind: 'unicast',
      prefix: r.prefix,
      priority: r.priority,
      nextHops: r.nextHops.map((h) => ({
        gateway: h.gateway,
        device: this.links.get(h.ifindex)?.name ?? null,
        onlink: (h.flags & RTNH_F.ONLINK) !== 0,
      })),
    };
  }

  // --- notifications ------------------------------------------------------------------------

  private emit(e: FibEvent): void {
    for (const l of this.listeners) l(e);
  }

  private setLink(ifindex: number, name: string, flags: number): void {
    const old = this.links.get(ifindex);
    if (old !== undefined && old.name !== name) this.ifindexByName.delete(old.name);
    this.links.set(ifindex, { name, flags });
    this.ifindexByName.set(name, ifindex);
  }

  private onWatchMessage(buf: Buffer, truncated: boolean): void {
    for (const h of splitMessages(buf, truncated)) {
      if (h.type === RTM.NEWROUTE || h.type === RTM.DELROUTE) {
        // Our own writes come back as notifications carrying our port: the ACK already told us.
        if (h.pid === this.writePort && h.pid !== 0) {
          this.lastEchoAt++;
          if (this.echoDebt > 0 && --this.echoDebt < this.maxEchoDebt / 2 && this.queued.length > 0) this.pump();
          continue;
        }
        const r = decodeRoute(buf, h);
        if (r === null || r.table !== this.table || r.protocol !== this.protocol) continue;
        if (h.type === RTM.NEWROUTE) this.emit({ type: 'route-changed', route: this.toFibRoute(r) });
        else this.emit({ type: 'route-deleted', prefix: r.prefix, priority: r.priority });
      } else if (h.type === RTM.NEWLINK || h.type === RTM.DELLINK) {
        const l = decodeLink(buf, h);
        if (l === null) continue;
        const old = this.links.get(l.ifindex);
        const name = l.name ?? old?.name;
        if (name === undefined) continue;
        if (h.type === RTM.DELLINK) {
          this.links.delete(l.ifindex);
          if (this.ifindexByName.get(name) === l.ifindex) this.ifindexByName.delete(name);
          this.emit({ type: 'link', name, ifindex: l.ifindex, up: false, deleted: true });
          continue;
        }
        this.setLink(l.ifindex, name, l.flags);
        const wasUp = old !== undefined && (old.flags & IFF.UP) !== 0 && (old.flags & IFF.LOWER_UP) !== 0;
        const isUp = (l.flags & IFF.UP) !== 0 && (l.flags & IFF.LOWER_UP) !== 0;
        if (old === undefined || wasUp !== isUp || old.name !== name) {
          this.emit({ type: 'link', name, ifindex: l.ifindex, up: isUp, deleted: false });
        }
      }
    }
  }
}
