/**
 * Namespace fixtures for the kernel integration tests. Every namespace and child process made
 * here is removed in t.teardown, also when the test fails. `dummy` and `ipip` link types are not
 * available on the CI machine, so tunl0 is a veth (peer tunl0p in the same namespace, both up).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AgentCommand, StartOptions, WireChange } from './agent.js';

export interface TapLike {
  teardown(fn: () => void | Promise<void>): void;
}

let counter = 0;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A namespace shaped like the seed node: lo, eth0 10.160.105.6/24 (+ fd00::6/64), tunl0. */
export function makeNode(t: TapLike, opts: { v6?: boolean } = {}): string {
  const ns = `wrenk${process.pid}x${counter++}`;
  ip('netns', 'add', ns);
  t.teardown(() => {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  });
  const n = (...a: string[]): string => ip('-n', ns, ...a);
  n('link', 'set', 'lo', 'up');
  n('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  n('link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0p');
  for (const d of ['eth0', 'eth0p', 'tunl0', 'tunl0p']) n('link', 'set', d, 'up');
  n('addr', 'add', '10.160.105.6/24', 'dev', 'eth0');
  if (opts.v6 === true) {
    n('-6', 'addr', 'add', 'fd00::6/64', 'dev', 'eth0', 'nodad');
  }
  return ns;
}

/** `ip route` text, trailing blanks trimmed per line (iproute2 leaves one after `proto bird`). */
export function routes(ns: string, ...extra: string[]): string[] {
  return ip('-n', ns, ...extra, 'route', 'show')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
}

export function birdRoutes(ns: string, family: '-4' | '-6' = '-4'): string[] {
  return routes(ns, family).filter((l) => l.includes('proto bird'));
}

export interface AgentEvent {
  readonly type: string;
  readonly [k: string]: unknown;
}

export interface Agent {
  call(cmd: Omit<AgentCommand, 'id'> & Record<string, unknown>): Promise<Record<string, unknown>>;
  start(opts: StartOptions, desired: readonly WireChange[]): Promise<Record<string, unknown>>;
  set(changes: readonly WireChange[]): Promise<Record<string, unknown>>;
  readonly events: AgentEvent[];
  readonly logs: Record<string, unknown>[];
  waitEvent(pred: (e: AgentEvent) => boolean, timeoutMs: number): Promise<AgentEvent>;
  stop(): Promise<void>;
  readonly child: ChildProcess;
}

/** The agent runs from source under tap's TypeScript loader, or from dist when compiled. */
function agentCommand(): string[] {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.js')) return [process.execPath, '--enable-source-maps', self.replace(/netns\.js$/, 'agent.js')];
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  return [process.execPath, ...loader, self.replace(/netns\.ts$/, 'agent.ts')];
}

export function spawnAgent(t: TapLike, ns: string): Agent {
  const child = spawn('ip', ['netns', 'exec', ns, ...agentCommand()], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  t.teardown(() => {
    if (!exited && child.pid !== undefined) child.kill('SIGKILL');
  });
  const pending = new Map<number, (r: Record<string, unknown>) => void>();
  const events: AgentEvent[] = [];
  const logs: Record<string, unknown>[] = [];
  const eventWaiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof msg['id'] === 'number') {
      pending.get(msg['id'])?.(msg);
      pending.delete(msg['id']);
    } else if (msg['event'] !== undefined) {
      events.push(msg['event'] as AgentEvent);
      for (const w of eventWaiters) w();
    } else if (msg['log'] !== undefined) logs.push(msg);
  });
  let nextId = 1;
  const call = (cmd: Record<string, unknown>): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`agent timeout on ${String(cmd['cmd'])}`)), 60_000);
      pending.set(id, (r) => {
        clearTimeout(timer);
        if (r['ok'] !== true) reject(new Error(String(r['error'])));
        else resolve(r);
      });
      child.stdin!.write(JSON.stringify({ ...cmd, id }) + '\n');
    });
  return {
    child,
    events,
    logs,
    call,
    start: (opts, desired) => call({ cmd: 'start', opts, desired }),
    set: (changes) => call({ cmd: 'set', changes }),
    waitEvent(pred, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const e = events.find(pred);
          if (e === undefined) return false;
          eventWaiters.delete(onEvent);
          clearTimeout(timer);
          resolve(e);
          return true;
        };
        const onEvent = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          eventWaiters.delete(onEvent);
          reject(new Error('event not seen in time'));
        }, timeoutMs);
        eventWaiters.add(onEvent);
        check();
      });
    },
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      await call({ cmd: 'stop' });
      await done;
    },
  };
}

/** `ip -n NS monitor route` in the background; `lines()` returns what it printed so far. */
export function monitorRoutes(t: TapLike, ns: string): { lines(): string[]; stop(): Promise<void>; ready: Promise<void> } {
  const child = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  child.on('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (exited) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await done;
  };
  t.teardown(stop);
  // ip monitor prints nothing when it is ready; give it time to open its socket.
  const ready = new Promise<void>((r) => setTimeout(r, 300));
  // New veths get IPv6 link-local `local fe80::...` / `fe80::/64` kernel routes at their own pace;
  // those are the kernel's, not a flap of ours, so they are left out.
  const kernelNoise = (l: string): boolean => /^(Deleted )?(local |multicast )?(fe80:|ff00::)/.test(l) && !l.includes('proto bird');
  return { lines: () => text.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0 && !kernelNoise(l)), stop, ready };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
