// Topologies of network namespaces for integration tests: hosts, veth links, bridge segments,
// tunl0, addresses and routes, processes inside hosts, and the cleanup of all of it.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecOptions, ExecResult } from './exec.js';
import { run, runIn } from './exec.js';
import { checkHostName, destroyNamespaceSync, newRunId, sweepStale } from './names.js';
import { LabProcess } from './process.js';
import { Capture } from './capture.js';
import type { CaptureOptions } from './capture.js';

export interface LabOptions {
  /** Keep the temp dir (configs, logs, pcaps) after close. Default: WREN_LAB_KEEP=1. */
  readonly keepFiles?: boolean;
  /** Skip the sweep of stale namespaces from crashed runs (done once per process by default). */
  readonly noSweep?: boolean;
  /**
   * A fixed run id instead of `wl<pid><tag>` (for `npm run lab --keep`): namespaces become
   * `<runId>-<host>`, which the stale sweep never touches, so a kept lab outlives this process.
   */
  readonly runId?: string;
}

export interface CloseOptions {
  /** Keep the temp dir; its path is printed to stderr. */
  readonly keepFiles?: boolean;
}

/** Addresses in CIDR form, v4 or v6 ("10.0.0.1/24", "fd00::1/64"). */
export type Cidr = string;

export interface LinkOptions {
  /** Interface name on a's side (default eth<N>, the next free one on a). */
  readonly ifA?: string;
  readonly ifB?: string;
  /** Addresses for a's and b's ends. */
  readonly a?: readonly Cidr[];
  readonly b?: readonly Cidr[];
}

export interface AttachOptions {
  /** Interface name in the host (default eth<N>). */
  readonly ifName?: string;
  readonly addrs?: readonly Cidr[];
}

export interface HostAddress {
  readonly iface: string;
  readonly cidr: Cidr;
  /** The address without its prefix length. */
  readonly ip: string;
  readonly family: 4 | 6;
}

/** Something to stop before the namespaces go: a daemon wrapper's graceful shutdown. */
type Closer = () => Promise<unknown>;

const liveLabs = new Set<Lab>();
let sweptOnce = false;

export class Lab {
  /** Prefix of every namespace of this lab, e.g. `wl02n9xk`. */
  readonly id: string;
  /** Per-run temp dir holding configs, sockets, logs and captures (mode 0755 so FRR's user can enter). */
  readonly dir: string;
  private readonly hosts = new Map<string, Host>();
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<LabProcess>();
  private readonly closers: Closer[] = [];
  private closed = false;
  private readonly keepFiles: boolean;

  private constructor(opts: LabOptions) {
    this.id = opts.runId ?? newRunId();
    this.dir = mkdtempSync(join(tmpdir(), `wren-lab-${this.id}-`));
    chmodSync(this.dir, 0o755);
    this.keepFiles = opts.keepFiles ?? process.env['WREN_LAB_KEEP'] === '1';
    liveLabs.add(this);
    installSafetyNet();
  }

  /** A new, empty lab. Sweeps namespaces of dead earlier runs first (once per process). */
  static async create(opts: LabOptions = {}): Promise<Lab> {
    if (!opts.noSweep && !sweptOnce) {
      sweptOnce = true;
      await sweepStale();
    }
    return new Lab(opts);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Namespace names this lab created and has not deleted yet. */
  namespaceNames(): readonly string[] {
    return [...this.namespaces];
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  private async addNamespace(name: string): Promise<string> {
    if (this.closed) throw new Error('lab is closed');
    checkHostName(name);
    const ns = `${this.id}-${name}`;
    if (this.namespaces.includes(ns)) throw new Error(`lab name ${name} used twice`);
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A new host: a namespace with lo up and its own file directory. */
  async addHost(name: string): Promise<Host> {
    const ns = await this.addNamespace(name);
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const h = new Host(this, name, ns, dir);
    this.hosts.set(name, h);
    return h;
  }

  /** A veth pair between two hosts, created directly inside both namespaces (no root-ns names to clash). */
  async link(a: Host, b: Host, opts: LinkOptions = {}): Promise<{ ifA: string; ifB: string }> {
    const ifA = opts.ifA ?? a.nextIfName();
    const ifB = opts.ifB ?? b.nextIfName();
    await run('ip', ['-n', a.ns, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.ns]);
    await a.configureInterface(ifA, opts.a ?? []);
    await b.configureInterface(ifB, opts.b ?? []);
    return { ifA, ifB };
  }

  /** An L2 segment: a bridge `br0` in a namespace of its own, that hosts attach to. */
  async addSegment(name: string): Promise<Segment> {
    const ns = await this.addNamespace(name);
    await run('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', ns, 'link', 'set', 'br0', 'up']);
    return new Segment(name, ns);
  }

  /** Start a program in a host's namespace; the lab kills it on close. */
  spawn(host: Host, cmd: string, args: readonly string[], opts: { name?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LabProcess {
    if (this.closed) throw new Error('lab is closed');
    const p = new LabProcess(host.ns, cmd, args, { dir: host.dir, ...opts });
    this.processes.add(p);
    return p;
  }

  /** Register a graceful shutdown (run before processes are killed and namespaces deleted). */
  onClose(fn: Closer): void {
    this.closers.push(fn);
  }

  /**
   * Stop everything: graceful closers, then every process (SIGTERM, SIGKILL after 2 s), then every
   * namespace with whatever still runs in it, then the temp dir. Safe to call twice.
   */
  async close(opts: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    const closers = this.closers.splice(0).reverse();
    const settled = await Promise.allSettled(closers.map((c) => withTimeout(c(), 5000)));
    for (const s of settled) if (s.status === 'rejected') errors.push(s.reason);
    await Promise.allSettled([...this.processes].map((p) => p.stop(2000)));
    for (const ns of this.namespaces.splice(0).reverse()) destroyNamespaceSync(ns);
    liveLabs.delete(this);
    if (opts.keepFiles ?? this.keepFiles) {
      process.stderr.write(`lab ${this.id}: files kept in ${this.dir}\n`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, `lab ${this.id}: ${errors.length} error(s) while stopping daemons`);
    }
  }

  /**
   * Leave everything running and forget it: no cleanup at close or exit. For `npm run lab --keep`;
   * returns what a later `--down` needs to remove.
   */
  detach(): { readonly id: string; readonly dir: string; readonly namespaces: readonly string[]; readonly pids: readonly number[] } {
    this.closed = true;
    liveLabs.delete(this);
    const pids: number[] = [];
    for (const p of this.processes) {
      if (p.pid !== undefined && p.running) pids.push(p.pid);
      p.unref();
    }
    return { id: this.id, dir: this.dir, namespaces: [...this.namespaces], pids };
  }

  /** Last-resort synchronous cleanup for the exit/signal handler. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.processes) p.killSync();
    for (const ns of this.namespaces.splice(0).reverse()) destroyNamespaceSync(ns);
    liveLabs.delete(this);
    process.stderr.write(`lab ${this.id}: cleaned up at exit; files kept in ${this.dir}\n`);
  }
}

export class Segment {
  private ports = 0;
  constructor(
    readonly name: string,
    /** The namespace holding the bridge. */
    readonly ns: string,
  ) {}

  /** Plug a host into the bridge with a veth (its end named ifName) and give it addresses. */
  async attach(host: Host, opts: AttachOptions = {}): Promise<string> {
    const ifName = opts.ifName ?? host.nextIfName();
    const port = `p${this.ports++}`;
    await run('ip', ['-n', this.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifName, 'netns', host.ns]);
    await run('ip', ['-n', this.ns, 'link', 'set', port, 'master', 'br0']);
    await run('ip', ['-n', this.ns, 'link', 'set', port, 'up']);
    await host.configureInterface(ifName, opts.addrs ?? []);
    return ifName;
  }
}

export class Host {
  private readonly addrs: HostAddress[] = [];
  private ifCount = 0;

  constructor(
    readonly lab: Lab,
    /** Short name given to addHost. */
    readonly name: string,
    /** Network namespace name. */
    readonly ns: string,
    /** This host's directory for configs, sockets and logs. */
    readonly dir: string,
  ) {}

  /** @internal next unused ethN name. */
  nextIfName(): string {
    return `eth${this.ifCount++}`;
  }

  /** @internal address and bring up an interface of this host. */
  async configureInterface(iface: string, cidrs: readonly Cidr[]): Promise<void> {
    for (const c of cidrs) await this.addAddress(iface, c);
    await this.ip(['link', 'set', iface, 'up']);
  }

  /** Every address given through the library, in order. */
  addresses(): readonly HostAddress[] {
    return [...this.addrs];
  }

  /** The first IPv4 (or IPv6) address given to this host, without prefix length. */
  addr(family: 4 | 6 = 4): string {
    const a = this.addrs.find((x) => x.family === family);
    if (!a) throw new Error(`host ${this.name} has no IPv${family} address`);
    return a.ip;
  }

  /** Run a command in this namespace (throws on non-zero exit unless opts.allowFail). */
  exec(cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return runIn(this.ns, cmd, args, opts);
  }

  /** `ip -n <ns> ...`; returns stdout. */
  async ip(args: readonly string[], opts: ExecOptions = {}): Promise<string> {
    return (await run('ip', ['-n', this.ns, ...args], opts)).stdout;
  }

  /** Add an address; IPv6 gets `nodad` so it is usable at once. */
  async addAddress(iface: string, cidr: Cidr): Promise<void> {
    const family = cidr.includes(':') ? 6 : 4;
    await this.ip(['addr', 'add', cidr, 'dev', iface, ...(family === 6 ? ['nodad'] : [])]);
    this.addrs.push({ iface, cidr, ip: cidr.split('/')[0] ?? cidr, family });
  }

  /**
   * A `tunl0` device as Calico has (an IPIP device there; a veth here, since ipip does not work in
   * this environment): one end of a veth pair whose peer `tunl0p` stays in this namespace, both up,
   * so routes `via X dev tunl0 onlink` are accepted. The namespace needs an address on some
   * interface for onlink routes; pass one here (e.g. a /32) if the host has none.
   */
  async addTunl0(addrs: readonly Cidr[] = []): Promise<void> {
    await this.ip(['link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0p']);
    await this.ip(['link', 'set', 'tunl0p', 'up']);
    await this.configureInterface('tunl0', addrs);
  }

  /** Default route via a gateway (family taken from the address). */
  async setDefaultRoute(via: string, dev?: string): Promise<void> {
    const fam = via.includes(':') ? '-6' : '-4';
    await this.ip([fam, 'route', 'replace', 'default', 'via', via, ...(dev === undefined ? [] : ['dev', dev])]);
  }

  /** `ip route` (or `ip -6 route`) text of this namespace, optionally of one table. */
  async routes(family: 4 | 6 = 4, table?: number | string): Promise<string> {
    return this.ip([family === 6 ? '-6' : '-4', 'route', 'show', ...(table === undefined ? [] : ['table', String(table)])]);
  }

  /** Set a sysctl inside the namespace, e.g. ('net.ipv4.ip_forward', '1'). */
  async sysctl(key: string, value: string): Promise<void> {
    await this.exec('sysctl', ['-qw', `${key}=${value}`]);
  }

  /** Start a long-running program here; output goes to <host dir>/<name>.stdout/.stderr. */
  spawn(cmd: string, args: readonly string[], opts: { name?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LabProcess {
    return this.lab.spawn(this, cmd, args, opts);
  }

  /** Start a packet capture on an interface of this host (see Capture). */
  capture(iface: string, opts: CaptureOptions = {}): Promise<Capture> {
    return Capture.start(this, iface, opts);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

let safetyNetInstalled = false;

/**
 * Clean up labs a test forgot to close, or that a signal interrupted: on 'exit' (only synchronous
 * work is possible there) and on SIGINT/SIGTERM/SIGHUP. A signal is re-raised after cleanup
 * so the process still dies of it (and other handlers, such as tap's, still see it).
 */
function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  const cleanupAll = (): void => {
    for (const lab of [...liveLabs]) lab.closeSync();
  };
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      cleanupAll();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}
