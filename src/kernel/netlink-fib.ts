/**
 * The real Fib: rtnetlink through wren's native addon (src/native.ts) via raw-netlink.ts, with
 * wren's own encoder.
 *
 * Why not `RtNetlinkSocket.newRoute` of the `netlink` package: one request, one ACK, one promise
 * per route caps it far below 100k routes/s; and its sockets abort the process on an overrun.
 * Writes of one apply() are encoded into one buffer and sent in batches of up to `batchSize`
 * messages / `maxBatchBytes` bytes per send(); RtnlRequester matches replies by sequence number
 * (only each batch's last message asks for an ACK) and bounds the messages awaiting replies by
 * what the receive buffer can hold. Notifications come from a separate watch socket that never
 * sees our own writes (filtered in the kernel) and reports an overrun as a FibEvent, on which
 * KernelSync rescans. It also joins the address groups: an address going away or coming back
 * changes which routes the kernel keeps and accepts, without any route notification.
 *
 * A netlink socket belongs to the network namespace of the process that opened it; tests run
 * this module in a child started with `ip netns exec`.
 */
import type { Prefix } from '../../proto/prefix.js';
import type { KernelRoute } from '../../rib/kernel-types.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  ERRNO,
  IFF,
  NLM_F,
  RTM,
  RTN,
  RTNH_F,
  RTNLGRP,
  RTPROT_BIRD,
  RT_SCOPE,
  RT_TABLE_MAIN,
} from './constants.js';
import {
  decodeAddress,
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
import { RtnlRequester, RtnlWatcher } from './raw-netlink.js';

export interface NetlinkFibOptions {
  readonly table?: number;
  readonly protocol?: number;
  /** Messages per send() at most (default 4096). */
  readonly batchSize?: number;
  /** Bytes per send() at most (default 256 KiB; also capped by the socket's send buffer). */
  readonly maxBatchBytes?: number;
  /** Messages awaiting replies at most (default: what the request socket's receive buffer holds). */
  readonly maxInflightMessages?: number;
  readonly requestTimeoutMs?: number;
  /** SO_RCVBUF of the watch socket (default 8 MiB, forced as root; the kernel doubles it). */
  readonly recvBufferBytes?: number;
  /** @deprecated batches are bounded by maxInflightMessages now; kept for compatibility. */
  readonly maxInflightBatches?: number;
}

interface LinkState {
  readonly name: string;
  readonly flags: number;
}

const DEFAULT_BATCH_SIZE = 4096 as const;
const DEFAULT_MAX_BATCH_BYTES = 256 * 1024;

export class NetlinkFib implements Fib {
  readonly table: number;
  readonly protocol: number;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly recvBufferBytes: number;
  private readonly requester: RtnlRequester;
  private watcher: RtnlWatcher | null = null;
  private readonly links = new Map<number, LinkState>();
  private readonly ifindexByName = new Map<string, number>();
  private readonly listeners = new Set<(e: FibEvent) => void>();

  constructor(opts: NetlinkFibOptions = {}) {
    this.table = opts.table ?? RT_TABLE_MAIN;
    this.protocol = opts.protocol ?? RTPROT_BIRD;
    this.batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    this.maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.recvBufferBytes = opts.recvBufferBytes ?? 8 << 20;
    this.requester = new RtnlRequester({
      ...(opts.maxInflightMessages !== undefined ? { maxInflightMessages: opts.maxInflightMessages } : {}),
      timeoutMs: opts.requestTimeoutMs ?? 30_000,
    });
  }

  async open(): Promise<void> {
    if (this.requester.isOpen) return;
    this.requester.open();
    const watch = new RtnlWatcher({
      groups: [RTNLGRP.LINK, RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE, RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR],
      recvBufferBytes: this.recvBufferBytes,
      ignorePortId: this.requester.portId,
      onMessages: (buf) => this.onWatchMessage(buf),
      onOverrun: () => this.emit({ type: 'overrun' }),
    });
    // Join before the first link dump so no change falls between the dump and the subscription.
    watch.open();
    this.watcher = watch;
    const links: DecodedLink[] = [];
    await this.requester.runDump(
      (seq, pid) => encodeDumpRequest(RTM.GETLINK, AF_UNSPEC, seq, pid),
      (buf, h) => {
        if (h.type !== RTM.NEWLINK) return;
        const l = decodeLink(buf, h);
        if (l !== null) links.push(l);
      },
    );
    for (const l of links) {
      if (l.name !== null) this.setLink(l.ifindex, l.name, l.flags);
    }
  }

  async close(): Promise<void> {
    this.requester.close();
    this.watcher?.close();
    this.watcher = null;
  }

  subscribe(listener: (event: FibEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** ifindex of a device by name, for tests and `show kernel`. */
  linkIndex(name: string): number | undefined {
    return this.ifindexByName.get(name);
  }

  /** The watch socket: tests pause it to provoke an overrun. */
  pauseNotifications(): void {
    this.watcher?.pause();
  }

  resumeNotifications(): void {
    this.watcher?.resume();
  }

  // --- writes -------------------------------------------------------------------------------

  apply(writes: readonly FibWrite[]): Promise<readonly FibResult[]> {
    const results = new Array<FibResult | undefined>(writes.length);
    if (!this.requester.isOpen) {
      results.fill(fibError(ERRNO.ENODEV, 'netlink socket not open'));
      return Promise.resolve(results as FibResult[]);
    }
    const maxBytes = Math.max(4096, Math.min(this.maxBatchBytes, this.requester.maxSendBytes || this.maxBatchBytes));
    const firstSeq = this.requester.reserveSeq(writes.length);
    /** Index into `writes` of the n-th message encoded. */
    const slots = new Int32Array(writes.length);
    let n = 0;
    let pending = 1; // released after the last batch is submitted
    let resolveAll: (r: readonly FibResult[]) => void = () => {};
    const done = new Promise<readonly FibResult[]>((r) => {
      resolveAll = r;
    });
    const release = (): void => {
      if (--pending === 0) resolveAll(results as FibResult[]);
    };
    // Each batch is submitted as soon as it is encoded: the kernel executes it on the threadpool
    // while the next one is being encoded here.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, writes.length * maxRouteMessageSize(1)) + maxRouteMessageSize(1));
    let off = 0;
    let lastOff = 0;
    let batchFirst = 0;
    const submit = (): void => {
      if (n === batchFirst) return;
      // The barrier: only the batch's last message asks for an ACK.
      buf.writeUInt16LE(buf.readUInt16LE(lastOff + 6) | NLM_F.ACK, lastOff + 6);
      const first = batchFirst;
      const end = n;
      pending++;
      this.requester.submit({
        buf: buf.subarray(0, off),
        firstSeq: firstSeq + first,
        count: end - first,
        onError: (idx, errno, type, message) => {
          // Deleting what is already gone is success: the goal "not in the kernel" holds.
          const gone = type === RTM.DELROUTE && (errno === ERRNO.ESRCH || errno === ERRNO.ENOENT);
          results[slots[first + idx]!] = gone ? FIB_OK : fibError(errno, message ?? undefined);
        },
        onDone: (errno) => {
          const fill = errno === 0 ? FIB_OK : fibError(errno);
          for (let m = first; m < end; m++) {
            const slot = slots[m]!;
            if (results[slot] === undefined) results[slot] = fill;
          }
          release();
        },
      });
      buf = Buffer.allocUnsafe(buf.length);
      off = 0;
      batchFirst = n;
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
      const need = wire !== null && wire.kind === 'unicast' ? maxRouteMessageSize(wire.nextHops.length) : maxRouteMessageSize(1);
      if (n - batchFirst >= this.batchSize || (off > 0 && (off + need > maxBytes || off + need > buf.length))) submit();
      if (off + need > buf.length) buf = Buffer.allocUnsafe(Math.max(need, buf.length)); // off is 0 here
      const h = {
        seq: firstSeq + n,
        pid: this.requester.portId,
        table: this.table,
        protocol: this.protocol,
        flags: NLM_F.REQUEST | (w.op === 'replace' ? NLM_F.CREATE | (w.exclusive ? NLM_F.EXCL : NLM_F.REPLACE) : 0),
      };
      lastOff = off;
      slots[n] = i;
      off = wire !== null ? encodeNewRoute(buf, off, wire, h) : encodeDelRoute(buf, off, (w as { prefix: Prefix }).prefix, (w as { priority: number | null }).priority, h);
      n++;
    }
    submit();
    release();
    return done;
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

  // --- dumps --------------------------------------------------------------------------------

  private async dumpRoutes(family: number): Promise<{ rows: DecodedRoute[]; interrupted: boolean }> {
    const rows: DecodedRoute[] = [];
    const { interrupted } = await this.requester.runDump(
      (seq, pid) => encodeDumpRequest(RTM.GETROUTE, family, seq, pid),
      (buf, h: NlHeader) => {
        if (h.type !== RTM.NEWROUTE) return;
        const r = decodeRoute(buf, h);
        if (r !== null && r.table === this.table && r.protocol === this.protocol) rows.push(r);
      },
    );
    return { rows, interrupted };
  }

  async dump(): Promise<readonly FibRoute[]> {
    // Without NETLINK_GET_STRICT_CHK (not settable through the package) the kernel dumps every
    // table; filtering happens while decoding. An interrupted dump (NLM_F_DUMP_INTR) is retried.
    for (let attempt = 0; ; attempt++) {
      const v4 = await this.dumpRoutes(AF_INET);
      const v6 = await this.dumpRoutes(AF_INET6);
      if ((v4.interrupted || v6.interrupted) && attempt < 3) continue;
      const out: FibRoute[] = [];
      for (const r of [...v4.rows, ...v6.rows]) out.push(this.toFibRoute(r));
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

  private onWatchMessage(buf: Buffer): void {
    for (const h of splitMessages(buf)) {
      if (h.type === RTM.NEWROUTE || h.type === RTM.DELROUTE) {
        // Our own writes never get here (the watch socket's filter drops them); kept as a guard
        // should the filter be missing: the ACK already told us.
        if (h.pid === this.requester.portId && h.pid !== 0) continue;
        const r = decodeRoute(buf, h);
        if (r === null || r.table !== this.table || r.protocol !== this.protocol) continue;
        if (h.type === RTM.NEWROUTE) this.emit({ type: 'route-changed', route: this.toFibRoute(r) });
        else this.emit({ type: 'route-deleted', prefix: r.prefix, priority: r.priority });
      } else if (h.type === RTM.NEWADDR || h.type === RTM.DELADDR) {
        const a = decodeAddress(buf, h);
        if (a === null || (a.family !== AF_INET && a.family !== AF_INET6)) continue;
        // Every pod's host-side veth gets (and loses) an IPv6 link-local address; our routes never
        // depend on one, and a rescan per pod start would be waste.
        if (a.family === AF_INET6 && a.scope >= RT_SCOPE.LINK) continue;
        this.emit({
          type: 'address',
          added: h.type === RTM.NEWADDR,
          family: a.family === AF_INET ? 4 : 6,
          address: a.address,
          prefixLength: a.prefixLength,
          device: this.links.get(a.ifindex)?.name ?? null,
        });
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
