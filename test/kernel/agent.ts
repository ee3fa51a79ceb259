/**
 * The wren side of the kernel integration tests, run inside a network namespace
 * (`ip netns exec NS node agent`): a netlink socket belongs to the namespace of the process that
 * opens it. Reads JSON commands on stdin, one per line, answers `{id, ok, ...}` on stdout and
 * forwards KernelSync events as `{event}` lines. Routes travel as text (see WireIntent).
 */
import { createInterface } from 'node:readline';
import { KernelSync, NetlinkFib } from '../../src/kernel/index.js';
import type { KernelSyncEvent } from '../../src/kernel/index.js';
import { formatIpv4, formatPrefix, parseIpv4, parsePrefix } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';
import type { KernelChange, KernelNextHop, KernelRoute } from '../../rib/kernel-types.js';

export interface WireHop {
  readonly gateway: string;
  readonly device?: string;
  readonly onlink?: boolean;
}
export type WireIntent = { readonly kind: 'blackhole' } | { readonly kind: 'unicast'; readonly nextHops: readonly WireHop[] };
export interface WireChange {
  readonly prefix: string;
  readonly route: WireIntent | null;
}
export interface StartOptions {
  readonly persist?: boolean;
  readonly scanIntervalMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  readonly table?: number;
  readonly protocol?: number;
  readonly batchSize?: number;
}
export type AgentCommand =
  | { readonly id: number; readonly cmd: 'start'; readonly opts: StartOptions; readonly desired: readonly WireChange[] }
  | { readonly id: number; readonly cmd: 'set'; readonly changes: readonly WireChange[] }
  | { readonly id: number; readonly cmd: 'converged' }
  | { readonly id: number; readonly cmd: 'status' }
  | { readonly id: number; readonly cmd: 'stop' };

function toPrefix(text: string): Prefix {
  const p = parsePrefix(text);
  if (p === null) throw new Error(`bad prefix ${text}`);
  return p.prefix;
}

export function toChange(c: WireChange): KernelChange {
  const prefix = toPrefix(c.prefix);
  if (c.route === null) return { prefix, route: null };
  let route: KernelRoute;
  if (c.route.kind === 'blackhole') route = { kind: 'blackhole', prefix };
  else {
    const nextHops: KernelNextHop[] = c.route.nextHops.map((h) => {
      const v4 = parseIpv4(h.gateway);
      const gateway = v4 ?? h.gateway;
      return h.device === undefined ? { gateway, onlink: h.onlink ?? false } : { gateway, device: h.device, onlink: h.onlink ?? false };
    });
    route = { kind: 'unicast', prefix, nextHops };
  }
  return { prefix, route };
}

function jsonable(e: KernelSyncEvent): Record<string, unknown> {
  return 'prefix' in e ? { ...e, prefix: formatPrefix(e.prefix) } : { ...e };
}

function out(obj: unknown): void {
  process.stdout.write(
    JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'number' && _k === 'gateway' ? formatIpv4(v) : v)) + '\n',
  );
}

let sync: KernelSync | null = null;

async function handle(c: AgentCommand): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'start': {
      const o = c.opts;
      const fib = new NetlinkFib({ table: o.table ?? 254, protocol: o.protocol ?? 12, ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}) });
      sync = new KernelSync({
        fib,
        persist: o.persist ?? true,
        scanIntervalMs: o.scanIntervalMs ?? 0,
        retryInitialMs: o.retryInitialMs ?? 100,
        retryMaxMs: o.retryMaxMs ?? 2000,
        onEvent: (e) => {
          if (e.type !== 'idle') out({ event: jsonable(e) });
        },
        logger: {
          debug() {},
          info() {},
          warn(obj, msg) {
            out({ log: 'warn', msg, ...obj });
          },
          error(obj, msg) {
            out({ log: 'error', msg, ...obj });
          },
        },
      });
      sync.setDesired(c.desired.map(toChange));
      await sync.start();
      await sync.whenIdle();
      return { status: sync.status() };
    }
    case 'set':
      sync!.setDesired(c.changes.map(toChange));
      await sync!.whenIdle();
      return { status: sync!.status() };
    case 'converged':
      sync!.converged();
      await sync!.whenIdle();
      return { status: sync!.status() };
    case 'status':
      return { status: sync!.status(), entries: sync!.entries() };
    case 'stop':
      await sync!.stop();
      return {};
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const c = JSON.parse(line) as AgentCommand;
  handle(c).then(
    (r) => {
      out({ id: c.id, ok: true, ...r });
      if (c.cmd === 'stop') process.exit(0);
    },
    (err: unknown) => out({ id: c.id, ok: false, error: String(err) }),
  );
});
rl.on('close', () => process.exit(0));
