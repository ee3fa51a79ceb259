// BIRD 2 and BIRD 1.6 as lab peers: config generation, start/stop, and readers of birdc output.
// BIRD 1.6 runs one daemon per address family (`bird` for IPv4, `bird6` for IPv6), so a Bird1Speaker
// may start two processes; each call is routed to the one of the address's family.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecError, run } from './exec.js';
import type { Host } from './lab.js';
import { bird1Paths } from './paths.js';
import type { LabProcess } from './process.js';
import type { NeighborConfig, PeerStatus, ReceivedRoute, SpeakerConfig, SpeakerKind } from './speaker.js';
import {
  DEFAULT_CONNECT_RETRY,
  Speaker,
  holdOf,
  isV6,
  keepaliveOf,
  localAddressFor,
  normaliseState,
  sameAddress,
} from './speaker.js';
import { StopWaiting, waitFor } from './wait.js';

/** BIRD protocol name for a neighbor: `n_` plus the address with separators as `_`. */
export function birdProtocolName(address: string): string {
  return `n_${address.replace(/[^0-9a-zA-Z]/g, '_')}`;
}

/** BIRD's export filter: our statics and (for route reflection / transit) BGP routes, never connected ones. */
const EXPORT_WHERE = 'source = RTS_STATIC || source = RTS_BGP';

function addPathWord(n: NeighborConfig): string | undefined {
  switch (n.addPath) {
    case undefined:
      return undefined;
    case 'both':
      return 'on';
    default:
      return n.addPath;
  }
}

/** Session-level BGP options, identical in BIRD 1.6 and 2. */
function bgpSessionLines(cfg: SpeakerConfig, n: NeighborConfig): string[] {
  const local = localAddressFor(cfg, n);
  const lines = [
    `local ${local === undefined ? '' : `${local} `}as ${cfg.localAs};`,
    `neighbor ${n.address} as ${n.remoteAs};`,
    `hold time ${holdOf(n)};`,
    `startup hold time ${holdOf(n)};`,
    `keepalive time ${keepaliveOf(n)};`,
    `connect retry time ${n.connectRetry ?? DEFAULT_CONNECT_RETRY};`,
    `connect delay time 1;`,
    // BIRD's default waits 60-300 s after an error before it tries again: far too long for tests.
    `error wait time 1, 5;`,
  ];
  if (n.passive) lines.push('passive on;');
  if (n.routeReflectorClient) {
    lines.push('rr client;');
    lines.push(`rr cluster id ${cfg.clusterId ?? cfg.routerId};`);
  }
  if (n.gracefulRestart !== undefined) lines.push(`graceful restart ${n.gracefulRestart ? 'on' : 'off'};`);
  if (n.restartTime !== undefined) lines.push(`graceful restart time ${n.restartTime};`);
  if (n.password !== undefined) lines.push(`password "${n.password}";`);
  if (n.multihop !== undefined) lines.push(`multihop ${n.multihop};`);
  // BIRD's minimum TTL is 256 - multihop (1 without it): ttlSecurity > 1 needs multihop as well.
  if (n.ttlSecurity !== undefined) lines.push('ttl security on;');
  return lines;
}

/** BIRD 2 config text for a speaker. */
export function bird2Config(cfg: SpeakerConfig, originate: readonly string[] = cfg.originate ?? []): string {
  const v4 = originate.filter((p) => !isV6(p));
  const v6 = originate.filter((p) => isV6(p));
  const out: string[] = [
    `router id ${cfg.routerId};`,
    'log stderr all;',
    'debug protocols { states, events };',
    'protocol device { scan time 1; }',
    // Connected routes let iBGP next hops resolve (gateway recursive); they are never exported.
    'protocol direct { ipv4; ipv6; }',
    `protocol static static4 { ipv4; ${v4.map((p) => `route ${p} blackhole; `).join('')}}`,
    `protocol static static6 { ipv6; ${v6.map((p) => `route ${p} blackhole; `).join('')}}`,
  ];
  if (cfg.kernel) {
    for (const fam of ['ipv4', 'ipv6']) {
      out.push(`protocol kernel kernel_${fam} { scan time 2; ${fam} { import none; export where source = RTS_BGP; }; }`);
    }
  }
  for (const n of cfg.neighbors) {
    const channel = [`import all;`, `export where ${EXPORT_WHERE};`];
    const ap = addPathWord(n);
    if (ap !== undefined) channel.push(`add paths ${ap};`);
    if (n.nextHopSelf) channel.push('next hop self;');
    out.push(
      `protocol bgp ${birdProtocolName(n.address)} {`,
      ...bgpSessionLines(cfg, n).map((l) => `  ${l}`),
      `  ${isV6(n.address) ? 'ipv6' : 'ipv4'} { ${channel.join(' ')} };`,
      '}',
    );
  }
  if (cfg.extraConfig !== undefined) out.push(cfg.extraConfig);
  return out.join('\n') + '\n';
}

/** BIRD 1.6 config for one family (`bird` takes the IPv4 neighbors/prefixes, `bird6` the IPv6 ones). */
export function bird1Config(cfg: SpeakerConfig, family: 4 | 6, originate: readonly string[] = cfg.originate ?? []): string {
  const want6 = family === 6;
  const prefixes = originate.filter((p) => isV6(p) === want6);
  const out: string[] = [
    `router id ${cfg.routerId};`,
    'log stderr all;',
    'debug protocols { states, events };',
    'protocol device { scan time 1; }',
    'protocol direct { }',
    `protocol static static1 { ${prefixes.map((p) => `route ${p} blackhole; `).join('')}}`,
  ];
  if (cfg.kernel) out.push('protocol kernel { scan time 2; import none; export where source = RTS_BGP; }');
  for (const n of cfg.neighbors.filter((x) => isV6(x.address) === want6)) {
    const lines = [...bgpSessionLines(cfg, n), 'import all;', `export where ${EXPORT_WHERE};`];
    const ap = addPathWord(n);
    if (ap !== undefined) lines.push(`add paths ${ap};`);
    if (n.nextHopSelf) lines.push('next hop self;');
    out.push(`protocol bgp ${birdProtocolName(n.address)} {`, ...lines.map((l) => `  ${l}`), '}');
  }
  if (cfg.extraConfig !== undefined) out.push(cfg.extraConfig);
  return out.join('\n') + '\n';
}

/** birdc output without the greeting line ("BIRD 2.0.12 ready."). */
export function stripGreeting(text: string): string {
  return text.replace(/^BIRD [^\n]* ready\.\n/, '');
}

/** Parse the block of one protocol from `show protocols all NAME` (BIRD 1.6 or 2). */
export function parseBirdProtocol(text: string): PeerStatus {
  const body = stripGreeting(text);
  const state = /^\s*BGP state:\s+(\S+)/m.exec(body)?.[1];
  const lastError = /^\s*Last error:\s+(.+?)\s*$/m.exec(body)?.[1];
  return {
    state: normaliseState(state ?? 'Idle'),
    raw: body,
    ...(lastError === undefined ? {} : { lastError }),
  };
}

/**
 * Parse `show route PREFIX all` (BIRD 1.6 or 2). A route starts with a line that is not indented by
 * a tab and holds `[protocol ...]`; a line starting with spaces is another route of the same net.
 */
export function parseBirdRoutes(text: string, protoToPeer: (proto: string) => string | undefined = () => undefined): ReceivedRoute[] {
  const routes: ReceivedRoute[] = [];
  let prefix = '';
  let cur: { head: string; lines: string[]; prefix: string } | undefined;
  const flush = (): void => {
    if (!cur) return;
    routes.push(birdRouteFrom(cur.prefix, cur.head, cur.lines, protoToPeer));
    cur = undefined;
  };
  for (const line of stripGreeting(text).split('\n')) {
    if (line.trim() === '' || /^Table \S+:$/.test(line) || /^Network not (in table|found)/.test(line)) continue;
    if (line.startsWith('\t')) {
      cur?.lines.push(line.trim());
      continue;
    }
    if (!/\[\S+[^\]]*\]/.test(line)) continue;
    flush();
    if (!/^\s/.test(line)) prefix = line.trim().split(/\s+/)[0] ?? '';
    cur = { head: line, lines: [], prefix };
  }
  flush();
  return routes;
}

function birdRouteFrom(prefix: string, head: string, lines: readonly string[], protoToPeer: (proto: string) => string | undefined): ReceivedRoute {
  const attr = (name: string): string | undefined => {
    const l = lines.find((x) => x.startsWith(`${name}:`));
    return l === undefined ? undefined : l.slice(name.length + 1).trim();
  };
  const proto = /\[(\S+)/.exec(head)?.[1] ?? '';
  const type = attr('Type');
  const isBgp = type !== undefined ? /\bBGP\b/.test(type) : proto.startsWith('n_');
  const via = /\bvia (\S+)/.exec(head)?.[1] ?? lines.map((l) => /^via (\S+)/.exec(l)?.[1]).find((x) => x !== undefined);
  const nextHop = attr('BGP.next_hop')?.split(/\s+/)[0] ?? via;
  const lp = attr('BGP.local_pref');
  const orig = attr('BGP.originator_id');
  const cl = attr('BGP.cluster_list');
  const from = isBgp ? protoToPeer(proto) : undefined;
  return {
    prefix,
    ...(nextHop === undefined || nextHop === '' ? {} : { nextHop }),
    asPath: (attr('BGP.as_path') ?? '').match(/\d+/g)?.map(Number) ?? [],
    ...(lp === undefined ? {} : { localPref: Number(lp) }),
    ...(orig === undefined ? {} : { originatorId: orig }),
    ...(cl === undefined ? {} : { clusterList: cl.split(/\s+/).filter((x) => x !== '') }),
    best: /\]\s+\*/.test(head),
    ...(from === undefined ? {} : { fromPeer: from }),
    local: !isBgp,
    raw: [head, ...lines.map((l) => `\t${l}`)].join('\n'),
  };
}

/** One BIRD daemon process with its control socket. */
class BirdDaemon {
  proc: LabProcess | undefined;
  constructor(
    readonly host: Host,
    readonly bin: string,
    readonly birdc: string,
    readonly name: string,
    readonly confPath: string,
    readonly sock: string,
  ) {}

  async start(conf: string): Promise<void> {
    writeFileSync(this.confPath, conf);
    const pid = join(this.host.dir, `${this.name}.pid`);
    this.proc = this.host.spawn(this.bin, ['-f', '-c', this.confPath, '-s', this.sock, '-P', pid], { name: this.name });
    const proc = this.proc;
    await waitFor(
      async () => {
        if (!proc.running) throw new StopWaiting(`${this.name} exited: ${JSON.stringify(proc.exit)}\n${proc.output()}`);
        return (await this.cli('show status')).includes('Daemon is up and running');
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `${this.name} control socket` },
    );
  }

  async cli(command: string): Promise<string> {
    // birdc joins its arguments into one command; the socket is in the host's dir, reachable from here.
    // birdc exits 1 when the reply is an error ("Network not found"), which is an answer, not a
    // failure; only a missing greeting means the daemon was not reached.
    const argv = ['-s', this.sock, ...command.trim().split(/\s+/)];
    const r = await run(this.birdc, argv, { timeoutMs: 10_000, allowFail: true });
    if (!/^BIRD \S+ ready\./.test(r.stdout)) throw new ExecError([this.birdc, ...argv], r);
    return r.stdout;
  }

  async reconfigure(conf: string): Promise<void> {
    writeFileSync(this.confPath, conf);
    const out = await this.cli('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`${this.name} configure failed: ${out}`);
  }

  async stop(): Promise<void> {
    await this.proc?.stop(3000);
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  logs(): string {
    return this.proc ? this.proc.stderr() + this.proc.stdout() : '';
  }
}

abstract class BirdSpeakerBase extends Speaker {
  protected peerOfProto(proto: string): string | undefined {
    return this.config.neighbors.find((n) => birdProtocolName(n.address) === proto)?.address;
  }

  protected abstract daemonFor(addressOrPrefix: string): BirdDaemon;
  protected abstract daemons(): BirdDaemon[];

  async peerState(address: string): Promise<PeerStatus> {
    const n = this.config.neighbors.find((x) => sameAddress(x.address, address));
    if (!n) throw new Error(`${this.kind} on ${this.host.name} has no neighbor ${address}`);
    const out = await this.daemonFor(n.address).cli(`show protocols all ${birdProtocolName(n.address)}`);
    if (!out.includes('BGP state:') && !/\bBGP\b/.test(out)) throw new Error(`unexpected birdc output: ${out}`);
    return parseBirdProtocol(out);
  }

  async routes(prefix: string): Promise<ReceivedRoute[]> {
    const out = await this.daemonFor(prefix).cli(`show route ${prefix} all`);
    return parseBirdRoutes(out, (p) => this.peerOfProto(p)).filter((r) => r.prefix === prefix);
  }

  /** A birdc command; for BIRD 1.6, family 6 sends it to the `bird6` daemon. */
  async cli(command: string, family: 4 | 6 = 4): Promise<string> {
    return this.daemonFor(family === 6 ? '::' : '0.0.0.0').cli(command);
  }

  logs(): string {
    return this.daemons()
      .map((d) => d.logs())
      .join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.daemons().map((d) => d.stop()));
  }

  async kill(): Promise<void> {
    await Promise.all(this.daemons().map((d) => d.kill()));
  }

  async announce(prefix: string): Promise<void> {
    this.daemonFor(prefix); // BIRD 1.6 without bird6 cannot take an IPv6 prefix: fail loudly
    if (!this.originated.includes(prefix)) this.originated.push(prefix);
    await this.reconfigure();
  }

  async withdraw(prefix: string): Promise<void> {
    this.originated = this.originated.filter((p) => p !== prefix);
    await this.reconfigure();
  }

  protected abstract reconfigure(): Promise<void>;
}

/** BIRD 2 (`bird` from the bird2 package). */
export class Bird2Speaker extends BirdSpeakerBase {
  readonly kind: SpeakerKind = 'bird2';
  private readonly daemon: BirdDaemon;

  constructor(host: Host, config: SpeakerConfig, opts: { bird?: string; birdc?: string; name?: string } = {}) {
    super(host, config);
    const name = opts.name ?? 'bird2';
    this.daemon = new BirdDaemon(host, opts.bird ?? 'bird', opts.birdc ?? 'birdc', name, join(host.dir, `${name}.conf`), join(host.dir, `${name}.ctl`));
  }

  /** Path of the control socket (for tests that talk to it directly). */
  get socket(): string {
    return this.daemon.sock;
  }

  get process(): LabProcess | undefined {
    return this.daemon.proc;
  }

  protected daemonFor(): BirdDaemon {
    return this.daemon;
  }

  protected daemons(): BirdDaemon[] {
    return [this.daemon];
  }

  async start(): Promise<void> {
    this.host.lab.onClose(() => this.stop());
    await this.daemon.start(bird2Config(this.config, this.originated));
  }

  protected async reconfigure(): Promise<void> {
    await this.daemon.reconfigure(bird2Config(this.config, this.originated));
  }
}

/** BIRD 1.6 (unpacked .deb; see paths.ts): `bird` for IPv4, plus `bird6` when IPv6 is configured. */
export class Bird1Speaker extends BirdSpeakerBase {
  readonly kind: SpeakerKind = 'bird1';
  private readonly v4: BirdDaemon;
  private readonly v6: BirdDaemon;
  private readonly runV6: boolean;

  constructor(host: Host, config: SpeakerConfig, opts: { name?: string } = {}) {
    super(host, config);
    const paths = bird1Paths();
    if (paths instanceof Error) throw paths;
    const name = opts.name ?? 'bird1';
    this.v4 = new BirdDaemon(host, paths.bird, paths.birdc, `${name}v4`, join(host.dir, `${name}v4.conf`), join(host.dir, `${name}v4.ctl`));
    this.v6 = new BirdDaemon(host, paths.bird6, paths.birdc6, `${name}v6`, join(host.dir, `${name}v6.conf`), join(host.dir, `${name}v6.ctl`));
    this.runV6 = config.neighbors.some((n) => isV6(n.address)) || (config.originate ?? []).some(isV6);
  }

  /** Control sockets: v4 (`bird`) and v6 (`bird6`, only when started). */
  get sockets(): { v4: string; v6?: string } {
    return this.runV6 ? { v4: this.v4.sock, v6: this.v6.sock } : { v4: this.v4.sock };
  }

  protected daemonFor(addressOrPrefix: string): BirdDaemon {
    if (!isV6(addressOrPrefix)) return this.v4;
    if (!this.runV6) throw new Error('this BIRD 1.6 speaker has no IPv6 daemon (no IPv6 neighbor or prefix configured)');
    return this.v6;
  }

  protected daemons(): BirdDaemon[] {
    return this.runV6 ? [this.v4, this.v6] : [this.v4];
  }

  async start(): Promise<void> {
    this.host.lab.onClose(() => this.stop());
    await Promise.all([
      this.v4.start(bird1Config(this.config, 4, this.originated)),
      ...(this.runV6 ? [this.v6.start(bird1Config(this.config, 6, this.originated))] : []),
    ]);
  }

  protected async reconfigure(): Promise<void> {
    await this.v4.reconfigure(bird1Config(this.config, 4, this.originated));
    if (this.runV6) await this.v6.reconfigure(bird1Config(this.config, 6, this.originated));
  }
}
