/**
 * rtnetlink transport on wren's native addon (src/native.ts): a request socket with pipelined,
 * sequence-matched batches and dumps, and a watch socket for the multicast groups.
 *
 * Request socket. rtnetlink handles a sendmsg synchronously: every message in the buffer is
 * executed before send() returns, and its replies are already queued on our socket. So a batch is
 * many requests in one send(); only its last message asks for an ACK (the barrier), because the
 * kernel answers every failing message with an NLMSG_ERROR whether or not NLM_F_ACK is set, and
 * replies come in request order: when the barrier's reply is read, every error of the batch has
 * been, and messages without one succeeded. NETLINK_CAP_ACK keeps error replies small, and
 * NETLINK_EXT_ACK adds the kernel's text ("Nexthop has invalid gateway").
 *
 * What bounds the pipeline is our receive buffer: if every message failed, each error reply
 * costs about REPLY_TRUESIZE bytes of it; messages sent and not yet answered are kept below
 * what the buffer holds, so replies are never dropped in normal operation. If they still are
 * (ENOBUFS), the fate of every outstanding message is unknown and is reported as ENOBUFS: the
 * caller retries, every route write being idempotent. NETLINK_NO_ENOBUFS is deliberately NOT set
 * on this socket: with it a dropped barrier ACK would be silent and only the timeout would tell.
 *
 * Watch socket. Joins the route and link groups with a large receive buffer and a BPF filter that
 * drops, inside the kernel, the notifications of our own writes (they carry our request socket's
 * port id): they are not queued, copied or read, so installing 100k routes costs the watch socket
 * nothing and cannot overrun it. Others' changes can still overrun it (a burst from another
 * program); that is reported as `onOverrun` and the owner rescans.
 *
 * A netlink socket belongs to the network namespace of the process that opened it.
 */
import { openNetlink } from '../native.js';
import type { NativeError, NetlinkSocket } from '../native.js';
import { ERRNO, NETLINK_ROUTE, NLMSG, NLM_F } from './constants.js';
import { decodeError, decodeErrorExt, splitMessages } from './codec.js';
import type { NlHeader } from './codec.js';

/** Upper bound of the receive-buffer charge (skb truesize) of one small error reply. */
const REPLY_TRUESIZE = 1536 as const;
/** Sequence numbers restart here so a batch's numbers never wrap. */
const SEQ_LIMIT = 0x7fffffff as const;
const MIB = 1 << 20;

export interface RequestBatch {
  /** Concatenated requests with contiguous sequence numbers; the last one has NLM_F_ACK. */
  readonly buf: Buffer;
  readonly firstSeq: number;
  readonly count: number;
  /** A message failed: its index in the batch, positive errno, request type, kernel text. */
  onError(index: number, errno: number, type: number, message: string | null): void;
  /** Every reply was read (errno 0), or the outcome of the messages without one is unknown (errno). */
  onDone(errno: number): void;
}

interface Inflight {
  readonly batch: RequestBatch;
  readonly sentAt: number;
}

interface ActiveDump {
  readonly seq: number;
  readonly onMessage: (buf: Buffer, h: NlHeader) => void;
  interrupted: boolean;
  readonly resolve: (r: { interrupted: boolean }) => void;
  readonly reject: (e: Error) => void;
}

export interface RtnlRequesterOptions {
  /** Forced where possible (root); the pipeline depth follows what the kernel granted. */
  readonly recvBufferBytes?: number;
  readonly sendBufferBytes?: number;
  /** Messages sent and unanswered at most (default: what the receive buffer can hold as errors). */
  readonly maxInflightMessages?: number;
  readonly timeoutMs?: number;
}

function errnoOf(err: { readonly errno?: number }): number {
  return Math.abs(err.errno ?? ERRNO.EINVAL);
}

export class RtnlRequester {
  private sock: NetlinkSocket | null = null;
  private seq = 1;
  private readonly queue: RequestBatch[] = [];
  private readonly inflight: Inflight[] = [];
  private inflightMessages = 0;
  private maxInflight = 0;
  private dump: ActiveDump | null = null;
  private dumpChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private readonly opts: RtnlRequesterOptions;
  /** Largest request the socket accepts in one send (sk_sndbuf - 32, see netlink_sendmsg). */
  maxSendBytes = 0;
  portId = 0;

  constructor(opts: RtnlRequesterOptions = {}) {
    this.opts = opts;
  }

  open(): void {
    if (this.sock !== null) return;
    const sock = openNetlink(
      NETLINK_ROUTE,
      {
        recvBufferBytes: this.opts.recvBufferBytes ?? 32 * MIB,
        sendBufferBytes: this.opts.sendBufferBytes ?? 4 * MIB,
        extAck: true,
        capAck: true,
      },
      {
        onData: (buf) => this.onData(buf),
        onOverrun: () => this.failAll(ERRNO.ENOBUFS),
        onError: (err) => this.failAll(errnoOf(err)),
      },
    );
    this.sock = sock;
    this.portId = sock.portId;
    this.maxSendBytes = Math.max(0, sock.sendBufferBytes - 32);
    const byBuffer = Math.max(64, Math.floor(sock.recvBufferBytes / REPLY_TRUESIZE));
    this.maxInflight = Math.min(this.opts.maxInflightMessages ?? byBuffer, byBuffer);
  }

  close(): void {
    const sock = this.sock;
    this.sock = null;
    for (const b of this.queue.splice(0)) b.onDone(ERRNO.ETIMEDOUT);
    this.failAll(ERRNO.ETIMEDOUT, new Error('netlink socket closed'));
    sock?.close();
  }

  get isOpen(): boolean {
    return this.sock !== null;
  }

  /** `count` contiguous sequence numbers; returns the first. */
  reserveSeq(count: number): number {
    if (this.seq + count >= SEQ_LIMIT) this.seq = 1;
    const first = this.seq;
    this.seq += count;
    return first;
  }

  submit(batch: RequestBatch): void {
    if (this.sock === null) {
      batch.onDone(ERRNO.ENODEV);
      return;
    }
    this.queue.push(batch);
    this.pump();
  }

  /**
   * Send queued batches, one at a time (their order is the order the kernel applies them in),
   * on the threadpool: the kernel's work on one batch overlaps JS preparing the next, and the
   * event loop is never blocked by it.
   */
  private pump(): void {
    const sock = this.sock;
    if (sock === null || this.sending || this.queue.length === 0) return;
    const b = this.queue[0]!;
    // Always let one batch through, however large, so nothing waits forever.
    if (this.inflight.length > 0 && this.inflightMessages + b.count > this.maxInflight) return;
    this.queue.shift();
    this.inflight.push({ batch: b, sentAt: performance.now() });
    this.inflightMessages += b.count;
    this.sending = true;
    sock.sendAsync(b.buf, (err) => {
      this.sending = false;
      if (err !== null) this.complete(b, errnoOf(err));
      this.pump();
    });
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer !== null || this.inflight.length === 0) return;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.inflight.length > 0 && now - this.inflight[0]!.sentAt >= timeoutMs) this.complete(this.inflight[0]!.batch, ERRNO.ETIMEDOUT);
      this.armTimer();
    }, timeoutMs);
    this.timer.unref();
  }

  private complete(b: RequestBatch, errno: number): void {
    const i = this.inflight.findIndex((f) => f.batch === b);
    if (i < 0) return;
    this.inflight.splice(i, 1);
    this.inflightMessages -= b.count;
    if (this.inflight.length === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    b.onDone(errno);
  }

  /** Replies were dropped: nothing outstanding can be matched any more. */
  private failAll(errno: number, why?: Error): void {
    while (this.inflight.length > 0) this.complete(this.inflight[0]!.batch, errno);
    const d = this.dump;
    if (d !== null) {
      this.dump = null;
      d.reject(why ?? Object.assign(new Error(`netlink dump failed: errno ${errno}`), { errno }));
    }
    this.pump();
  }

  private batchFor(seq: number): RequestBatch | undefined {
    for (const f of this.inflight) {
      const b = f.batch;
      if (seq >= b.firstSeq && seq < b.firstSeq + b.count) return b;
    }
    return undefined;
  }

  private onData(buf: Buffer): void {
    for (const h of splitMessages(buf)) {
      const d = this.dump;
      if (d !== null && h.seq === d.seq) {
        this.onDumpPart(d, buf, h);
        continue;
      }
      if (h.type !== NLMSG.ERROR) continue;
      const e = decodeErrorExt(buf, h);
      const b = this.batchFor(e.seq);
      if (b === undefined) continue;
      const idx = e.seq - b.firstSeq;
      if (e.errno !== 0) b.onError(idx, e.errno, e.type, e.message);
      if (idx === b.count - 1) this.complete(b, 0);
    }
    this.pump();
  }

  // --- dumps ------------------------------------------------------------------------------

  /**
   * Send a dump request built for `seq` (from reserveSeq(1)) and feed each reply message to
   * `onMessage` until NLMSG_DONE. One dump at a time: the kernel refuses a second (EBUSY).
   */
  runDump(build: (seq: number, pid: number) => Buffer, onMessage: (buf: Buffer, h: NlHeader) => void): Promise<{ interrupted: boolean }> {
    const run = (): Promise<{ interrupted: boolean }> =>
      new Promise((resolve, reject) => {
        const sock = this.sock;
        if (sock === null) {
          reject(new Error('netlink socket not open'));
          return;
        }
        const seq = this.reserveSeq(1);
        this.dump = { seq, onMessage, interrupted: false, resolve, reject };
        try {
          sock.send(build(seq, this.portId));
        } catch (e) {
          this.dump = null;
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    const p = this.dumpChain.then(run, run);
    this.dumpChain = p.catch(() => undefined);
    return p;
  }

  private onDumpPart(d: ActiveDump, buf: Buffer, h: NlHeader): void {
    if ((h.flags & NLM_F.DUMP_INTR) !== 0) d.interrupted = true;
    if (h.type === NLMSG.DONE) {
      this.dump = null;
      d.resolve({ interrupted: d.interrupted });
    } else if (h.type === NLMSG.ERROR) {
      const { errno } = decodeError(buf, h);
      this.dump = null;
      d.reject(Object.assign(new Error(`netlink dump failed: errno ${errno}`), { errno }));
    } else {
      d.onMessage(buf, h);
    }
  }
}

export interface RtnlWatcherOptions {
  readonly groups: readonly number[];
  readonly recvBufferBytes?: number;
  /** Our request socket's port: its notifications are dropped in the kernel. */
  readonly ignorePortId?: number;
  readonly onMessages: (buf: Buffer) => void;
  readonly onOverrun: () => void;
  readonly onError?: (err: NativeError) => void;
}

export class RtnlWatcher {
  private sock: NetlinkSocket | null = null;
  private readonly opts: RtnlWatcherOptions;
  overruns = 0;

  constructor(opts: RtnlWatcherOptions) {
    this.opts = opts;
  }

  open(): void {
    if (this.sock !== null) return;
    const o = this.opts;
    this.sock = openNetlink(
      NETLINK_ROUTE,
      {
        groups: o.groups,
        recvBufferBytes: o.recvBufferBytes ?? 8 * MIB,
        ...(o.ignorePortId !== undefined && o.ignorePortId !== 0 ? { ignorePortId: o.ignorePortId } : {}),
      },
      {
        onData: (buf) => o.onMessages(buf),
        onOverrun: () => {
          this.overruns++;
          o.onOverrun();
        },
        // No other error is expected on a netlink socket; losing track is what a rescan repairs.
        onError: (err) => (o.onError !== undefined ? o.onError(err) : o.onOverrun()),
      },
    );
  }

  /** Stop reading (tests use it to let the queue overrun). */
  pause(): void {
    this.sock?.pause();
  }

  resume(): void {
    this.sock?.resume();
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}
