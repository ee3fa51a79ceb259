// FRR as a lab peer: zebra + bgpd per host, each instance with its own config, pid files, zserv
// socket and vty socket directory, so several instances run at once; queried with vtysh JSON.
// FRR daemons drop privileges to the `frr` user, so the instance directory is owned by frr.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';
import type { Host } from './lab.js';
import { FRR_DIR } from './paths.js';
import type { LabProcess } from './process.js';
import type { PeerStatus, ReceivedRoute, SpeakerConfig, SpeakerKind } from './speaker.js';
import { DEFAULT_CONNECT_RETRY, Speaker, holdOf, isV6, keepaliveOf, localAddressFor, normaliseState, sameAddress } from './speaker.js';
import { StopWaiting, waitFor } from './wait.js';

const afOf = (addr: string): string => (isV6(addr) ? 'ipv6 unicast' : 'ipv4 unicast');

/** bgpd.conf for a speaker. */
export function frrBgpdConfig(cfg: SpeakerConfig, opts: { hostname: string; logFile: string }): string {
  const out: string[] = [
    'frr defaults traditional',
    `hostname ${opts.hostname}`,
    `log file ${opts.logFile} debugging`,
    'debug bgp neighbor-events',
    '!',
    `router bgp ${cfg.localAs}`,
    ` bgp router-id ${cfg.routerId}`,
    // Test peers exchange everything; FRR's eBGP default is to send and accept nothing without policy.
    ' no bgp ebgp-requires-policy',
    // Originated prefixes are announced whether or not the kernel has a route for them.
    ' no bgp network import-check',
    // Activate each neighbor only in the family of its address.
    ' no bgp default ipv4-unicast',
  ];
  if (cfg.clusterId !== undefined) out.push(` bgp cluster-id ${cfg.clusterId}`);
  const restart = cfg.neighbors.find((n) => n.restartTime !== undefined)?.restartTime;
  if (restart !== undefined) out.push(` bgp graceful-restart restart-time ${restart}`);
  for (const n of cfg.neighbors) {
    const a = n.address;
    out.push(` neighbor ${a} remote-as ${n.remoteAs}`, ` neighbor ${a} timers ${keepaliveOf(n)} ${holdOf(n)}`, ` neighbor ${a} timers connect ${n.connectRetry ?? DEFAULT_CONNECT_RETRY}`);
    // FRR's default eBGP advertisement interval (30 s in the traditional profile) would slow tests.
    out.push(` neighbor ${a} advertisement-interval 0`);
    if (n.passive) out.push(` neighbor ${a} passive`);
    if (n.password !== undefined) out.push(` neighbor ${a} password ${n.password}`);
    const local = localAddressFor(cfg, n);
    if (local !== undefined) out.push(` neighbor ${a} update-source ${local}`);
    if (n.gracefulRestart !== undefined) out.push(` neighbor ${a} ${n.gracefulRestart ? 'graceful-restart' : 'graceful-restart-disable'}`);
  }
  for (const fam of ['ipv4 unicast', 'ipv6 unicast']) {
    const ns = cfg.neighbors.filter((n) => afOf(n.address) === fam);
    const prefixes = (cfg.originate ?? []).filter((p) => afOf(p) === fam);
    if (ns.length === 0 && prefixes.length === 0) continue;
    out.push(` address-family ${fam}`);
    for (const p of prefixes) out.push(`  network ${p}`);
    for (const n of ns) {
      out.push(`  neighbor ${n.address} activate`);
      if (n.routeReflectorClient) out.push(`  neighbor ${n.address} route-reflector-client`);
      if (n.nextHopSelf) out.push(`  neighbor ${n.address} next-hop-self`);
      if (n.addPath === 'tx' || n.addPath === 'both') out.push(`  neighbor ${n.address} addpath-tx-all-paths`);
    }
    out.push(' exit-address-family');
  }
  out.push('!');
  if (cfg.extraConfig !== undefined) out.push(cfg.extraConfig);
  return out.join('\n') + '\n';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((acc, k) => (isObj(acc) ? acc[k] : undefined), o);

/** Parse one path of `show bgp <afi> unicast PREFIX json`. */
export function parseFrrPath(prefix: string, p: unknown): ReceivedRoute {
  const asPath: number[] = [];
  const segs = get(p, 'aspath', 'segments');
  if (Array.isArray(segs)) {
    for (const s of segs) {
      const list = get(s, 'list');
      if (Array.isArray(list)) asPath.push(...list.filter((x): x is number => typeof x === 'number'));
    }
  } else {
    const str = get(p, 'aspath', 'string');
    if (typeof str === 'string') asPath.push(...(str.match(/\d+/g)?.map(Number) ?? []));
  }
  const nhs = get(p, 'nexthops');
  const nh = Array.isArray(nhs) ? get(nhs[0], 'ip') : undefined;
  const lp = get(p, 'locPrf');
  const orig = get(p, 'originatorId');
  const cl = get(p, 'clusterList', 'list');
  const peerId = get(p, 'peer', 'peerId');
  // A path from a `network` statement has peer "(unspec)"/0.0.0.0/:: and is marked local or sourced.
  const local =
    get(p, 'sourced') === true ||
    get(p, 'local') === true ||
    typeof peerId !== 'string' ||
    peerId === '(unspec)' ||
    peerId === '0.0.0.0' ||
    peerId === '::';
  return {
    prefix,
    ...(typeof nh === 'string' && nh !== '0.0.0.0' && nh !== '::' ? { nextHop: nh } : {}),
    asPath,
    ...(typeof lp === 'number' ? { localPref: lp } : {}),
    ...(typeof orig === 'string' ? { originatorId: orig } : {}),
    ...(Array.isArray(cl) ? { clusterList: cl.map(String) } : {}),
    best: get(p, 'bestpath', 'overall') === true,
    ...(!local && typeof peerId === 'string' ? { fromPeer: peerId } : {}),
    local,
    raw: JSON.stringify(p),
  };
}

export class FrrSpeaker extends Speaker {
  readonly kind: SpeakerKind = 'frr';
  /** Instance directory: configs, pid files, logs, zserv.api and the *.vty sockets. */
  readonly dir: string;
  private zebra: LabProcess | undefined;
  private bgpd: LabProcess | undefined;

  constructor(host: Host, config: SpeakerConfig, opts: { name?: string } = {}) {
    super(host, config);
    this.dir = join(host.dir, opts.name ?? 'frr');
  }

  get processes(): { zebra?: LabProcess; bgpd?: LabProcess } {
    return { ...(this.zebra ? { zebra: this.zebra } : {}), ...(this.bgpd ? { bgpd: this.bgpd } : {}) };
  }

  private conf(): string {
    return frrBgpdConfig({ ...this.config, originate: this.originated }, { hostname: this.host.name, logFile: join(this.dir, 'bgpd.log') });
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    writeFileSync(join(this.dir, 'zebra.conf'), `hostname ${this.host.name}\nlog file ${join(this.dir, 'zebra.log')}\n`);
    writeFileSync(join(this.dir, 'bgpd.conf'), this.conf());
    await run('chown', ['-R', 'frr:frr', this.dir]);
    this.host.lab.onClose(() => this.stop());
    const common = ['-z', join(this.dir, 'zserv.api'), '--vty_socket', this.dir, '-P', '0'];
    this.zebra = this.host.spawn(join(FRR_DIR, 'zebra'), ['-f', join(this.dir, 'zebra.conf'), '-i', join(this.dir, 'zebra.pid'), ...common], { name: 'zebra' });
    const zebra = this.zebra;
    await waitFor(
      () => {
        if (!zebra.running) throw new StopWaiting(`zebra exited: ${JSON.stringify(zebra.exit)}\n${zebra.output()}`);
        return this.vtysh(['show version']).then(() => true);
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'FRR zebra vty' },
    );
    // -n: keep learned routes out of the kernel unless the test asks for them.
    this.bgpd = this.host.spawn(
      join(FRR_DIR, 'bgpd'),
      ['-f', join(this.dir, 'bgpd.conf'), '-i', join(this.dir, 'bgpd.pid'), ...common, ...(this.config.kernel ? [] : ['-n'])],
      { name: 'bgpd' },
    );
    const bgpd = this.bgpd;
    await waitFor(
      async () => {
        if (!bgpd.running) throw new StopWaiting(`bgpd exited: ${JSON.stringify(bgpd.exit)}\n${bgpd.output()}`);
        const out = await this.vtysh(['show bgp summary json']);
        return out.includes('"routerId"') || out.trim() === '{}' ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'FRR bgpd vty' },
    );
  }

  /** vtysh against this instance; each element is one `-c` command. */
  async vtysh(commands: readonly string[]): Promise<string> {
    const r = await run('vtysh', ['--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])], { timeoutMs: 10_000 });
    return r.stdout;
  }

  cli(command: string): Promise<string> {
    return this.vtysh([command]);
  }

  async peerState(address: string): Promise<PeerStatus> {
    const out = await this.vtysh([`show bgp neighbors ${address} json`]);
    const parsed: unknown = JSON.parse(out);
    const key = isObj(parsed) ? Object.keys(parsed).find((k) => sameAddress(k, address)) : undefined;
    const n = key === undefined || !isObj(parsed) ? undefined : parsed[key];
    if (!isObj(n)) throw new Error(`frr on ${this.host.name} has no neighbor ${address}: ${out}`);
    const st = n['bgpState'];
    const err = n['lastNotificationReason'] ?? n['lastResetDueTo'];
    return {
      state: normaliseState(typeof st === 'string' ? st : 'Idle'),
      raw: JSON.stringify(n),
      ...(typeof err === 'string' ? { lastError: err } : {}),
    };
  }

  async routes(prefix: string): Promise<ReceivedRoute[]> {
    const out = await this.vtysh([`show bgp ${afOf(prefix)} ${prefix} json`]);
    if (out.trim() === '' || out.includes('Network not in table')) return [];
    const parsed: unknown = JSON.parse(out);
    const paths = get(parsed, 'paths');
    return Array.isArray(paths) ? paths.map((p) => parseFrrPath(prefix, p)) : [];
  }

  async announce(prefix: string): Promise<void> {
    await this.vtysh(['configure terminal', `router bgp ${this.config.localAs}`, `address-family ${afOf(prefix)}`, `network ${prefix}`]);
    if (!this.originated.includes(prefix)) this.originated.push(prefix);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.vtysh(['configure terminal', `router bgp ${this.config.localAs}`, `address-family ${afOf(prefix)}`, `no network ${prefix}`]);
    this.originated = this.originated.filter((p) => p !== prefix);
  }

  logs(): string {
    const read = (f: string): string => {
      try {
        return readFileSync(join(this.dir, f), 'utf8');
      } catch {
        return '';
      }
    };
    return `${read('bgpd.log')}${this.bgpd?.output() ?? ''}\n${read('zebra.log')}`;
  }

  async stop(): Promise<void> {
    await this.bgpd?.stop(3000);
    await this.zebra?.stop(3000);
  }

  async kill(): Promise<void> {
    await this.bgpd?.kill();
    await this.zebra?.kill();
  }
}

