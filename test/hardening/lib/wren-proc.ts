// Helpers around a running bgpd for the hardening tests: a direct client of the JSON control
// socket (the protocol bgpctl speaks; used where a test polls hundreds of times), RSS from /proc,
// and a bgpd started in this namespace on 127.0.0.1 with a random port (no lab needed).
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../lab/lib/paths.js';
import type { KernelRouteStatus, RoutePath, NeighborStatus } from '../../../src/status.js';

export interface CtlReply {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

/** One request on wren's JSON control socket; rejects on timeout or a closed connection. */
export function ctl(path: string, command: string, args?: Record<string, string>, timeoutMs = 10_000): Promise<CtlReply> {
  return new Promise<CtlReply>((resolve, reject) => {
    const s = net.connect({ path });
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`control socket ${path}: no answer to "${command}" in ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(`${JSON.stringify({ command, ...(args === undefined ? {} : { args }) })}\n`));
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        s.destroy();
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as CtlReply);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error(`control socket ${path}: closed without an answer to "${command}"`));
    });
  });
}

export async function ctlRoutes(path: string, prefix?: string): Promise<RoutePath[]> {
  const r = await ctl(path, 'show routes', prefix === undefined ? undefined : { prefix });
  if (!r.ok) {
    if (r.error?.startsWith('network not in table') === true) return [];
    throw new Error(`show routes: ${r.error ?? ''}`);
  }
  return (r.result as { routes: RoutePath[] }).routes;
}

/** Paths for exactly `prefix` learnt from `peer` (address). */
export async function pathsFrom(path: string, prefix: string, peer: string): Promise<RoutePath[]> {
  return (await ctlRoutes(path, prefix)).filter((p) => p.prefix === prefix && p.peerAddress === peer);
}

export async function ctlNeighbors(path: string): Promise<NeighborStatus[]> {
  const r = await ctl(path, 'show neighbors');
  if (!r.ok) throw new Error(`show neighbors: ${r.error ?? ''}`);
  return (r.result as { neighbors: NeighborStatus[] }).neighbors;
}

/** `show kernel`: every route bgpd owns, desired vs installed, with the last write error. */
export async function ctlKernel(path: string): Promise<KernelRouteStatus[]> {
  const r = await ctl(path, 'show kernel');
  if (!r.ok) throw new Error(`show kernel: ${r.error ?? ''}`);
  return (r.result as { routes: KernelRouteStatus[] }).routes;
}

/** Every neighbour's address -> sinceMs, or undefined unless all of them are Established. */
export async function allEstablished(path: string): Promise<Map<string, number> | undefined> {
  const ns = await ctlNeighbors(path);
  if (ns.length === 0 || ns.some((n) => n.state !== 'Established')) return undefined;
  return new Map(ns.map((n) => [n.address, n.sinceMs]));
}

export async function ctlNeighbor(path: string, address: string): Promise<NeighborStatus> {
  const n = (await ctlNeighbors(path)).find((x) => x.address === address);
  if (n === undefined) throw new Error(`no neighbor ${address}`);
  return n;
}

/** Resident set size of a process in KiB (VmRSS), or null when it is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Poll until `fn` returns a value (not undefined); throws with `what` after the timeout. */
export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, intervalMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > end) throw new Error(`timeout (${timeoutMs} ms): ${what}${last === '' ? '' : ` (last error: ${last})`}`);
    await sleep(intervalMs);
  }
}

export interface LocalPeer {
  readonly address: string;
  readonly asn: number;
  readonly extra?: Record<string, unknown>;
}

/**
 * bgpd in this network namespace, listening on 127.0.0.1 at a random high port, every peer
 * passive (the raw peers connect from their own 127.0.0.x address), kernel programming off.
 */
export class LocalWren {
  readonly dir: string;
  readonly socket: string;
  readonly configFile: string;
  port = 0;
  private child: ChildProcess | null = null;
  private out = '';
  private exitCode: number | null | undefined;
  private exitSignal: string | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly peers: readonly LocalPeer[],
    private readonly extra: Record<string, unknown> = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'wren-hard-'));
    this.socket = join(this.dir, 'bgpd.sock');
    this.configFile = join(this.dir, 'bgpd.conf');
  }

  configObject(): Record<string, unknown> {
    return {
      'router-id': '127.0.0.1',
      asn: 65000,
      'node-address': '127.0.0.1/8',
      listen: { address: '127.0.0.1', port: this.port },
      control: { socket: this.socket },
      log: { level: 'warn' },
      timers: { hold: 30, 'connect-retry': 1, 'connect-delay': 0, 'error-wait': { min: 1, max: 1 } },
      'graceful-restart': { enabled: false },
      kernel: { program: false },
      mesh: { enabled: false, nodes: [] },
      peers: this.peers.map((p) => ({ address: p.address, asn: p.asn, passive: true, 'source-address': '127.0.0.1', ...(p.extra ?? {}) })),
      ...this.extra,
    };
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== null && this.exitCode === undefined;
  }

  get output(): string {
    return this.out;
  }

  get exit(): { code: number | null | undefined; signal: string | null } {
    return { code: this.exitCode, signal: this.exitSignal };
  }

  async start(): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      this.port = 20000 + Math.floor(Math.random() * 30000);
      writeFileSync(this.configFile, `${JSON.stringify(this.configObject(), null, 2)}\n`);
      const child = spawn('node', ['--enable-source-maps', join(repoRoot(), 'dist/src/bgpd.js'), '-c', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      this.exitCode = undefined;
      this.out = '';
      const keep = (d: Buffer): void => {
        this.out += d.toString();
        if (this.out.length > 2_000_000) this.out = this.out.slice(-1_000_000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      this.exited = new Promise<void>((resolve) =>
        child.once('exit', (code, sig) => {
          this.exitCode = code;
          this.exitSignal = sig;
          resolve();
        }),
      );
      try {
        await until(
          async () => {
            if (this.exitCode !== undefined) throw new Error('exited');
            return (await ctl(this.socket, 'show status', undefined, 2000)).ok ? true : undefined;
          },
          30_000,
          'bgpd control socket',
        );
        return;
      } catch (e) {
        if (this.exitCode !== undefined && /EADDRINUSE/.test(this.out)) continue;
        throw new Error(`bgpd did not start: ${e instanceof Error ? e.message : String(e)}\n${this.out.slice(-3000)}`);
      }
    }
    throw new Error('bgpd: no free port found');
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c === null) return;
    if (this.exitCode === undefined) {
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
    this.child = null;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
