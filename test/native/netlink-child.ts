/**
 * The namespace side of netlink.test.ts (run with `ip netns exec NS`): a netlink socket belongs
 * to the namespace of the process that opens it. Modes (argv[2]), each printing JSON lines:
 * - raw: a watch socket on the IPv4 route group with a tiny receive buffer, paused; on "go" it
 *   resumes and reports what it read and how many overruns it saw.
 * - sync: KernelSync on NetlinkFib with a tiny watch buffer and paused notifications; on "go"
 *   they resume: the overrun must lead to a rescan, the process must live on and stay in sync.
 * - extack: a write the kernel rejects, to show its NETLINK_EXT_ACK text in the result.
 * - batches: 1000 writes in many small batches, every 100th one failing: each result must land
 *   on its own write (replies are matched by sequence number across batches).
 */
import { createInterface } from 'node:readline';
import { openNetlink } from '../../src/native.js';
import { KernelSync, NetlinkFib } from '../../src/kernel/index.js';
import type { KernelSyncEvent } from '../../src/kernel/index.js';
import { NETLINK_ROUTE, RTNLGRP } from '../../src/kernel/constants.js';
import { parseIpv4, parsePrefix } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';

const TINY_BUFFER = 4096 as const;
const QUIET_MS = 500 as const;

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

const onGo = (fn: () => void): void => {
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l.trim() === 'go') fn();
  });
};

function p4(text: string): Prefix {
  const p = parsePrefix(text);
  if (p === null) throw new Error(`bad prefix ${text}`);
  return p.prefix;
}

async function raw(): Promise<void> {
  let overruns = 0;
  let bytes = 0;
  let datagrams = 0;
  let last = performance.now();
  const sock = openNetlink(
    NETLINK_ROUTE,
    { groups: [RTNLGRP.IPV4_ROUTE], recvBufferBytes: TINY_BUFFER },
    {
      onData: (buf, n) => {
        bytes += buf.length;
        datagrams += n;
        last = performance.now();
      },
      onOverrun: () => {
        overruns++;
        last = performance.now();
      },
      onError: (err) => out({ error: err.message }),
    },
  );
  sock.pause();
  out({ ready: true, recvBufferBytes: sock.recvBufferBytes });
  onGo(() => {
    sock.resume();
    const timer = setInterval(() => {
      if (performance.now() - last < QUIET_MS) return;
      clearInterval(timer);
      out({ done: true, overruns, datagrams, bytes });
      sock.close();
      process.exit(0);
    }, 100);
  });
}

async function sync(): Promise<void> {
  const events: KernelSyncEvent[] = [];
  const fib = new NetlinkFib({ recvBufferBytes: TINY_BUFFER });
  const ks = new KernelSync({ fib, scanIntervalMs: 0, repairDelayMs: 5, onEvent: (e) => events.push(e) });
  const mine = Array.from({ length: 10 }, (_, i) => p4(`172.31.${i}.0/26`));
  ks.setDesired(mine.map((prefix) => ({ prefix, route: { kind: 'blackhole', prefix } })));
  await ks.start();
  await ks.whenIdle();
  fib.pauseNotifications();
  out({ ready: true, installed: ks.status().installed });
  onGo(() => {
    const scansBefore = ks.status().scans;
    fib.resumeNotifications();
    const t0 = performance.now();
    const timer = setInterval(() => {
      const st = ks.status();
      const overrun = events.length > 0;
      if (st.scans > scansBefore || performance.now() - t0 > 10_000) {
        clearInterval(timer);
        void ks.whenIdle().then(async () => {
          const after = ks.status();
          out({ done: true, overrunSeen: overrun, scansBefore, scans: after.scans, installed: after.installed, failed: after.failed, events: events.map((e) => e.type) });
          await ks.stop();
          process.exit(0);
        });
      }
    }, 50);
  });
}

async function extack(): Promise<void> {
  const fib = new NetlinkFib();
  await fib.open();
  const prefix = p4('172.30.0.0/24');
  const gateway = parseIpv4('10.99.99.1');
  if (gateway === null) throw new Error('bad gateway');
  // No connected route covers the gateway and it is not onlink: the kernel refuses it.
  const [r] = await fib.apply([{ op: 'replace', exclusive: true, route: { kind: 'unicast', prefix, nextHops: [{ gateway, onlink: false }] } }]);
  const [del] = await fib.apply([{ op: 'delete', prefix, priority: null }]);
  out({ done: true, result: r, deleteMissing: del });
  await fib.close();
  process.exit(0);
}

async function batches(): Promise<void> {
  const fib = new NetlinkFib({ batchSize: 7, maxBatchBytes: 4096 });
  await fib.open();
  const gateway = parseIpv4('10.99.99.1');
  if (gateway === null) throw new Error('bad gateway');
  const prefixes = Array.from({ length: 1000 }, (_, i) => p4(`172.20.${i >> 2}.${(i & 3) * 64}/26`));
  const results = await fib.apply(
    prefixes.map((prefix, i) =>
      i % 100 === 50
        ? ({ op: 'replace', exclusive: true, route: { kind: 'unicast', prefix, nextHops: [{ gateway, onlink: false }] } } as const)
        : ({ op: 'replace', exclusive: true, route: { kind: 'blackhole', prefix } } as const),
    ),
  );
  const failedAt = results.flatMap((r, i) => (r.ok ? [] : [{ i, code: r.code }]));
  const dels = await fib.apply(prefixes.map((prefix) => ({ op: 'delete', prefix, priority: null }) as const));
  out({ done: true, failedAt, deletesOk: dels.every((r) => r.ok), deletes: dels.length });
  await fib.close();
  process.exit(0);
}

const mode = process.argv[2];
const run = mode === 'raw' ? raw : mode === 'sync' ? sync : mode === 'extack' ? extack : mode === 'batches' ? batches : null;
if (run === null) {
  // Run without a mode (e.g. `tap test/native` picks up every .ts file): nothing to do.
  process.stderr.write('usage: netlink-child raw|sync|extack (inside a network namespace)\n');
} else {
  run().catch((err: unknown) => {
    out({ fatal: String(err instanceof Error ? err.stack : err) });
    process.exit(1);
  });
}
