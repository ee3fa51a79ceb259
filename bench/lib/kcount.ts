/**
 * Counts IPv4 routes of one rtnetlink protocol in this network namespace from route
 * notifications (no dumps while the receiver installs: a dump slows installs down, see
 * landscape.md §3.4), and prints `{"n":N,"t":wallMs}` each time the count reaches 0 or --target,
 * and `{"progress":N,"t":..}` every second. One initial dump gives the starting count.
 *   node dist/bench/lib/kcount.js --proto 12 --target 100000     (run inside the namespace)
 * Exits when stdin closes.
 */
import process from 'node:process';
import { execFileSync } from 'node:child_process';
import { RtnlWatcher } from '../../src/kernel/raw-netlink.js';
import { RTM, RTNLGRP } from '../../src/kernel/constants.js';
import { decodeRoute, splitMessages } from '../../src/kernel/codec.js';
import type { Prefix } from '../../proto/prefix.js';

const argv = process.argv.slice(2);
const arg = (n: string, d: number): number => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const PROTO = arg('proto', 12);
const TARGET = arg('target', 100_000);
const wall = (): number => performance.timeOrigin + performance.now();
const out = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...o, t: wall() })}\n`);
};

const present = new Set<Prefix>();
let last = -1;
const report = (): void => {
  const n = present.size;
  if ((n === 0 || n >= TARGET) && n !== last) {
    last = n;
    out({ n });
  }
};
const w = new RtnlWatcher({
  groups: [RTNLGRP.IPV4_ROUTE],
  recvBufferBytes: 64 << 20,
  onMessages: (buf) => {
    for (const h of splitMessages(buf)) {
      if (h.type !== RTM.NEWROUTE && h.type !== RTM.DELROUTE) continue;
      const r = decodeRoute(buf, h);
      if (r === null || r.protocol !== PROTO) continue;
      if (h.type === RTM.NEWROUTE) present.add(r.prefix);
      else present.delete(r.prefix);
    }
    report();
  },
  onOverrun: () => out({ overrun: true }),
});
w.open();
const initial = execFileSync('ip', ['-4', 'route', 'show', 'proto', String(PROTO)], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '').length;
out({ ready: true, initial });
const tick = setInterval(() => out({ progress: present.size }), 1000);
process.stdin.on('end', () => {
  clearInterval(tick);
  w.close();
  process.exit(0);
});
process.stdin.resume();
