/**
 * BIRD 1.6 text formats, rendered from the read model in src/status.ts. Every format string here is
 * quoted from BIRD 1.6.8 (nest/proto.c, proto/bgp/bgp.c, nest/rt-table.c, nest/cmds.c) and checked
 * byte for byte against ../shared/reference/birdc-transcripts. Pure functions: no sockets, no clock
 * (the caller passes `nowMs` from DaemonStatus), local time zone as BIRD uses it.
 */
import type { DaemonStatus, KernelRouteStatus, NeighborStatus, RoutePath } from '../status.js';

/** One reply line before framing: a code and its text. The framing (`-`, ` `, continuation) is the socket's job. */
export interface BirdLine {
  readonly code: number;
  readonly text: string;
}

/** The reply codes wren emits (doc/reply_codes). Named so no handler carries a bare number. */
export const Reply = {
  OK: 0,
  WELCOME: 1,
  READING_CONFIG: 2,
  RECONFIGURED: 3,
  RECONFIG_IGNORED_SHUTDOWN: 6,
  SHUTDOWN_ORDERED: 7,
  ALREADY_DISABLED: 8,
  DISABLED: 9,
  ALREADY_ENABLED: 10,
  ENABLED: 11,
  RESTARTED: 12,
  STATUS_REPORT: 13,
  ROUTE_COUNT: 14,
  RELOADING: 15,
  ACCESS_RESTRICTED: 16,
  NOTHING_TO_DO: 19,
  CONFIG_OK: 20,
  GR_STATUS: 24,
  BIRD_VERSION: 1000,
  PROTOCOL_LIST: 1002,
  PROTOCOL_DETAILS: 1006,
  ROUTE_LIST: 1007,
  ROUTE_DETAILS: 1008,
  UPTIME: 1011,
  ROUTE_ATTRIBUTES: 1012,
  MEMORY: 1018,
  TABLE_HEADING: 2002,
  TOO_MANY_CLIENTS: 8000,
  NETWORK_NOT_IN_TABLE: 8001,
  CONFIG_ERROR: 8002,
  NO_PROTOCOLS_MATCH: 8003,
  ACTION_FAILED: 8006,
  ACCESS_DENIED: 8007,
  COMMAND_TOO_LONG: 9000,
  PARSE_ERROR: 9001,
  INVALID_SYMBOL: 9002,
} as const;

// ---------------------------------------------------------------------------------------------
// Time formats

const pad2 = (n: number): string => String(n).padStart(2, '0');

function ymd(d: Date): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

function hms(d: Date): string {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** BIRD's cutoff for the short time form: timeformat protocol/route default `{"%T", "%F", 20*3600}`. */
const SHORT_FORM_MAX_AGE_MS = 20 * 3600 * 1000;

/**
 * `tf_proto` / `tf_route`: `HH:MM:SS` for times less than 20 hours ago, else `YYYY-MM-DD`. Always a
 * single token, which calicoctl's whitespace split depends on.
 */
export function birdShortTime(ms: number, nowMs: number): string {
  const d = new Date(ms);
  return nowMs - ms < SHORT_FORM_MAX_AGE_MS ? hms(d) : ymd(d);
}

/** `tf_base` (`%F %T`), used by `show status`. */
export function birdFullTime(ms: number): string {
  const d = new Date(ms);
  return `${ymd(d)} ${hms(d)}`;
}

// ---------------------------------------------------------------------------------------------
// Protocols

export type BirdProtoState = 'up' | 'start' | 'down' | 'wait';

/** A row of `show protocols`, with the detail lines `show protocols all` prints under it. */
export interface BirdProtocol {
  readonly name: string;
  readonly proto: 'BGP' | 'Static' | 'Kernel' | 'Device' | 'Direct';
  readonly state: BirdProtoState;
  readonly sinceMs: number;
  readonly info: string;
  /** The `1006` block, each entry one line without its prefix, including the closing blank line. */
  readonly details: readonly string[];
  /** The NeighborStatus behind a BGP row; undefined for the built-in rows. */
  readonly neighbor?: NeighborStatus;
}

/** Names/filters shown in `show protocols all`; defaults match Calico's BIRD template. */
export interface BirdProtocolDisplay {
  readonly description: string;
  readonly inputFilter: string;
  readonly outputFilter: string;
  readonly kernelOutputFilter: string;
  /** Calico's template sets `multihop` on every BGP session; BIRD shows it in `Session:`. */
  readonly multihop: boolean;
}

export const CALICO_PROTOCOL_DISPLAY: BirdProtocolDisplay = {
  description: 'Connection to BGP peer',
  inputFilter: 'ACCEPT',
  outputFilter: 'calico_export_to_bgp_peers',
  kernelOutputFilter: 'calico_kernel_programming',
  multihop: true,
};

export const PROTOCOLS_HEADER = 'name     proto    table    state  since       info';

/** proto_cmd_show: `"%-8s %-8s %-8s %-5s  %-10s  %s"`. */
export function protocolRow(p: BirdProtocol, nowMs: number): string {
  return (
    `${p.name.padEnd(8)} ${p.proto.padEnd(8)} ${'master'.padEnd(8)} ${p.state.padEnd(5)}  ` +
    `${birdShortTime(p.sinceMs, nowMs).padEnd(10)}  ${p.info}`
  );
}

/** BIRD's proto state as Calico tooling sees it: up when Established, down when disabled, else start. */
export function neighborProtoState(n: NeighborStatus): BirdProtoState {
  if (!n.enabled) return 'down';
  return n.state === 'Established' ? 'up' : 'start';
}

/**
 * bgp_get_status's state_dsc. BIRD says `Passive` for a passive session waiting for the peer (its
 * connections idle, startup done); wren's FSM models that wait as RFC 4271's Active (passive TCP
 * establishment), or Idle before the first event.
 */
export function neighborBgpStateName(n: NeighborStatus): string {
  if (!n.enabled) return 'Down';
  if (n.passive && (n.state === 'Active' || (n.state === 'Idle' && n.lastError === ''))) return 'Passive';
  return n.state;
}

/** The info column: `"%-14s%s%s"` (state, error class + message); a disabled protocol shows none. */
export function neighborInfo(n: NeighborStatus): string {
  if (!n.enabled) return '';
  return `${neighborBgpStateName(n).padEnd(14)}${n.lastError}`;
}

const CAP_ORDER = ['refresh', 'enhanced-refresh', 'restart-able', 'restart-aware', 'llgr-able', 'llgr-aware', 'AS4', 'add-path-rx', 'add-path-tx', 'ext-messages'] as const;

const CAP_ALIASES: Readonly<Record<string, readonly (typeof CAP_ORDER)[number][]>> = {
  'refresh': ['refresh'],
  'route-refresh': ['refresh'],
  'enhanced-refresh': ['enhanced-refresh'],
  'enhanced-route-refresh': ['enhanced-refresh'],
  'restart-able': ['restart-able'],
  'graceful-restart': ['restart-able'],
  'restart-aware': ['restart-aware'],
  'llgr-able': ['llgr-able'],
  'llgr-aware': ['llgr-aware'],
  'llgr': ['llgr-aware'],
  'long-lived-graceful-restart': ['llgr-aware'],
  'as4': ['AS4'],
  '4-octet-as': ['AS4'],
  'four-octet-as': ['AS4'],
  'add-path-rx': ['add-path-rx'],
  'add-path-tx': ['add-path-tx'],
  'add-path': ['add-path-rx', 'add-path-tx'],
  'ext-messages': ['ext-messages'],
  'extended-message': ['ext-messages'],
};

/** Capability names in BIRD's words and order; names BIRD has no word for are left out. */
export function birdCapabilityWords(caps: readonly string[]): string[] {
  const have = new Set<string>();
  for (const c of caps) for (const w of CAP_ALIASES[c.toLowerCase()] ?? []) have.add(w);
  return CAP_ORDER.filter((w) => have.has(w));
}

const num10 = (n: number): string => String(n).padStart(10);

function routeStatsLines(
  routes: { readonly imported: number; readonly exported: number; readonly preferred: number },
  iu: { readonly received: number; readonly rejected: number; readonly filtered: number; readonly ignored: number; readonly accepted: number },
  iw: { readonly received: number; readonly rejected: number; readonly ignored: number; readonly accepted: number },
  eu: { readonly received: number; readonly rejected: number; readonly filtered: number; readonly accepted: number },
  ew: { readonly received: number; readonly accepted: number },
): string[] {
  return [
    `  Routes:         ${routes.imported} imported, ${routes.exported} exported, ${routes.preferred} preferred`,
    '  Route change stats:     received   rejected   filtered    ignored   accepted',
    `    Import updates:     ${num10(iu.received)} ${num10(iu.rejected)} ${num10(iu.filtered)} ${num10(iu.ignored)} ${num10(iu.accepted)}`,
    `    Import withdraws:   ${num10(iw.received)} ${num10(iw.rejected)}        --- ${num10(iw.ignored)} ${num10(iw.accepted)}`,
    `    Export updates:     ${num10(eu.received)} ${num10(eu.rejected)} ${num10(eu.filtered)}        --- ${num10(eu.accepted)}`,
    `    Export withdraws:   ${num10(ew.received)}        ---        ---        --- ${num10(ew.accepted)}`,
  ];
}

const ZERO_STATS = { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 } as const;

/** proto_show_basic_info + bgp_show_proto_info for one neighbor. */
export function neighborDetails(n: NeighborStatus, display: BirdProtocolDisplay, grRecovery: boolean): string[] {
  const down = !n.enabled;
  const lines = [
    `  Description:    ${display.description}`,
    '  Preference:     100',
    `  Input filter:   ${display.inputFilter}`,
    `  Output filter:  ${display.outputFilter}`,
  ];
  // " pending" = this protocol still holds the global GR recovery (no End-of-RIB yet).
  if (grRecovery) lines.push(`  GR recovery:   ${n.state === 'Established' ? '' : ' pending'}`);
  if (!down) {
    lines.push(
      ...routeStatsLines(n.routes, n.importUpdates, n.importWithdraws, n.exportUpdates ?? ZERO_STATS, n.exportWithdraws ?? ZERO_STATS),
    );
  }
  lines.push(`  BGP state:          ${neighborBgpStateName(n)}`);
  lines.push(`    Neighbor address: ${n.address}`);
  lines.push(`    Neighbor AS:      ${n.peerAs}`);
  if (n.gracefulRestart.state === 'helper-stale') lines.push('    Neighbor graceful restart active');
  if (!down && n.state === 'Established') {
    const negotiated = birdCapabilityWords(n.capabilities.negotiated);
    const session = [
      n.localAs === n.peerAs ? 'internal' : 'external',
      ...(display.multihop ? ['multihop'] : []),
      ...(n.routeReflectorClient ? ['route-reflector'] : []),
      ...negotiated.filter((w) => w === 'AS4' || w === 'add-path-rx' || w === 'add-path-tx' || w === 'ext-messages'),
    ];
    if (n.neighborId !== null) lines.push(`    Neighbor ID:      ${n.neighborId}`);
    lines.push(`    Neighbor caps:   ${birdCapabilityWords(n.capabilities.peer).map((w) => ` ${w}`).join('')}`);
    lines.push(`    Session:          ${session.join(' ')}`);
    if (n.sourceAddress !== null) lines.push(`    Source address:   ${n.sourceAddress}`);
    if (n.holdTimeSec !== null) lines.push(`    Hold timer:       ${n.holdTimerRemainingSec ?? 0}/${n.holdTimeSec}`);
    if (n.keepaliveSec !== null) lines.push(`    Keepalive timer:  ${n.keepaliveTimerRemainingSec ?? 0}/${n.keepaliveSec}`);
  }
  if (!down && n.lastError !== '') lines.push(`    Last error:       ${n.lastError}`);
  lines.push('');
  return lines;
}

export function neighborProtocol(n: NeighborStatus, display: BirdProtocolDisplay, grRecovery: boolean): BirdProtocol {
  return {
    name: n.name,
    proto: 'BGP',
    state: neighborProtoState(n),
    sinceMs: n.sinceMs,
    info: neighborInfo(n),
    details: neighborDetails(n, display, grRecovery),
    neighbor: n,
  };
}

/** The names Calico's BIRD config gives its non-BGP protocols, in config order. */
export const BUILTIN_PROTOCOL_NAMES = ['static1', 'kernel1', 'device1', 'direct1'] as const;

/** True for routes wren originates itself (the node's blocks), which BIRD attributes to static1. */
export function isOriginated(r: RoutePath): boolean {
  return r.from === 'local' || r.from === 'static1' || r.from.startsWith('static');
}

/**
 * The rows a Calico node's BIRD shows besides BGP. wren has no such protocols, but operators diff
 * `birdc show protocols` between nodes line by line; the rows carry what wren knows (originated
 * blocks as static1's routes, kernel sync as kernel1's exports).
 */
export function builtinProtocols(
  status: DaemonStatus,
  routes: readonly RoutePath[],
  kernel: readonly KernelRouteStatus[],
  display: BirdProtocolDisplay,
): BirdProtocol[] {
  const grRecovery = status.gracefulRestart.state === 'running';
  const originated = routes.filter((r) => isOriginated(r)).length;
  const originatedBest = routes.filter((r) => isOriginated(r) && r.best).length;
  const kernelInstalled = kernel.filter((k) => k.installed !== null).length;
  const block = (pref: number, out: string, imported: number, exported: number, preferred: number, gr: string | null): string[] => [
    `  Preference:     ${pref}`,
    `  Input filter:   ACCEPT`,
    `  Output filter:  ${out}`,
    ...(gr === null ? [] : [`  GR recovery:   ${gr}`]),
    ...routeStatsLines(
      { imported, exported, preferred },
      { received: imported, rejected: 0, filtered: 0, ignored: 0, accepted: imported },
      ZERO_STATS,
      { received: exported, rejected: 0, filtered: 0, accepted: exported },
      ZERO_STATS,
    ),
    '',
  ];
  const since = status.startedMs;
  return [
    { name: 'static1', proto: 'Static', state: 'up', sinceMs: since, info: '', details: block(200, 'REJECT', originated, 0, originatedBest, grRecovery ? '' : null) },
    {
      name: 'kernel1',
      proto: 'Kernel',
      // BIRD holds the kernel protocol in `wait` until GR recovery ends (it must not prune yet).
      state: grRecovery ? 'wait' : 'up',
      sinceMs: since,
      info: '',
      details: block(10, display.kernelOutputFilter, 0, kernelInstalled, 0, grRecovery ? ' waiting' : null),
    },
    { name: 'device1', proto: 'Device', state: 'up', sinceMs: since, info: '', details: block(240, 'REJECT', 0, 0, 0, grRecovery ? '' : null) },
    { name: 'direct1', proto: 'Direct', state: 'up', sinceMs: since, info: '', details: block(240, 'REJECT', 0, 0, 0, grRecovery ? '' : null) },
  ];
}

/** BIRD's `patmatch`: `*` any run, `?` any one character, everything else literal. */
export function birdPatternMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    '^' +
      [...pattern]
        .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
    's',
  );
  return re.test(name);
}

// ---------------------------------------------------------------------------------------------
// show status, show memory

export function statusLines(s: DaemonStatus, version: string): { lines: BirdLine[]; final: BirdLine } {
  const lines: BirdLine[] = [
    { code: Reply.BIRD_VERSION, text: `BIRD ${version}` },
    { code: Reply.UPTIME, text: `Router ID is ${s.routerId}` },
    { code: Reply.UPTIME, text: `Current server time is ${birdFullTime(s.nowMs)}` },
    { code: Reply.UPTIME, text: `Last reboot on ${birdFullTime(s.startedMs)}` },
    { code: Reply.UPTIME, text: `Last reconfiguration on ${birdFullTime(s.configLoadedMs)}` },
  ];
  if (s.gracefulRestart.state === 'running') {
    const total = s.gracefulRestart.waitTimeSec ?? 240;
    lines.push(
      { code: Reply.GR_STATUS, text: 'Graceful restart recovery in progress' },
      { code: Reply.GR_STATUS, text: `  Waiting for ${s.gracefulRestart.waitingFor} protocols to recover` },
      { code: Reply.GR_STATUS, text: `  Wait timer is ${Math.max(0, Math.round(s.gracefulRestart.remainingSec ?? 0))}/${total}` },
    );
  }
  const final = { code: Reply.STATUS_REPORT, text: s.shuttingDown ? 'Shutdown in progress' : 'Daemon is up and running' };
  return { lines, final };
}

/** cmd_show_memory's print_size: `"%-17s %4u %cB"`, scaled by 1024 while the value has 5+ digits. */
export function memoryLine(label: string, bytes: number): string {
  const units = ' kMG';
  let v = Math.max(0, Math.floor(bytes));
  let i = 0;
  while (v >= 10000 && i < 3) {
    v = Math.floor((v + 512) / 1024);
    i++;
  }
  return `${label.padEnd(17)} ${String(v).padStart(4)} ${units[i] ?? ' '}B`;
}

// ---------------------------------------------------------------------------------------------
// show route

/** The protocol name BIRD would show for a route: originated blocks belong to static1. */
export function routeProtocolName(r: RoutePath): string {
  return r.from === 'local' ? 'static1' : r.from;
}

function routeSourceKind(r: RoutePath): 'bgp' | 'static' | 'device' {
  if (isOriginated(r)) return 'static';
  if (r.peerAddress !== null || /^(Mesh|Global|Node)_/.test(r.from)) return 'bgp';
  return 'device';
}

function originChar(origin: RoutePath['origin']): string {
  return origin === 'IGP' ? 'i' : origin === 'EGP' ? 'e' : '?';
}

/** rt_show_rte's row: `"%-18s %s [%s %s%s]%s%s"`; `prefixColumn` is blank for a prefix's later paths. */
export function routeRow(r: RoutePath, nowMs: number, showPrefix: boolean): string {
  let via: string;
  if (r.kind === 'blackhole') via = 'blackhole';
  else if (r.nextHop !== null) via = `via ${r.nextHop}${r.device !== null ? ` on ${r.device}` : ''}`;
  else via = `dev ${r.device ?? '?'}`;
  const from = r.peerAddress !== null && r.peerAddress !== r.nextHop && routeSourceKind(r) === 'bgp' ? ` from ${r.peerAddress}` : '';
  let info: string;
  switch (routeSourceKind(r)) {
    case 'bgp': {
      const lastAs = r.asPath.trim().split(/\s+/).filter((t) => /^\d+$/.test(t)).pop();
      info = ` (100${r.stale ? 's' : ''}/0) [${lastAs === undefined ? '' : `AS${lastAs}`}${originChar(r.origin)}]`;
      break;
    }
    case 'static':
      info = ' (200)';
      break;
    case 'device':
      info = ' (240)';
      break;
  }
  const prefixCol = (showPrefix ? r.prefix : '').padEnd(18);
  return `${prefixCol} ${via} [${routeProtocolName(r)} ${birdShortTime(r.sinceMs, nowMs)}${from}]${r.best ? ' *' : ''}${info}`;
}

/** `show route all` extras: the `1008` type line and `1012` BGP attributes in attribute-code order. */
export function routeDetailLines(r: RoutePath): BirdLine[] {
  const kind = routeSourceKind(r);
  const typeName = kind === 'bgp' ? 'BGP' : kind === 'static' ? 'static' : 'device';
  const out: BirdLine[] = [{ code: Reply.ROUTE_DETAILS, text: `\tType: ${typeName} unicast univ` }];
  if (kind !== 'bgp') return out;
  const attr = (text: string): BirdLine => ({ code: Reply.ROUTE_ATTRIBUTES, text: `\t${text}` });
  out.push(attr(`BGP.origin: ${r.origin}`));
  out.push(attr(`BGP.as_path: ${r.asPath.trim()}`));
  if (r.nextHop !== null) out.push(attr(`BGP.next_hop: ${r.nextHop}`));
  if (r.med !== null) out.push(attr(`BGP.med: ${r.med}`));
  if (r.localPref !== null) out.push(attr(`BGP.local_pref: ${r.localPref}`));
  if (r.communities.length > 0) out.push(attr(`BGP.community: ${r.communities.map((c) => `(${c.split(':').join(',')})`).join(' ')}`));
  if (r.originatorId !== null) out.push(attr(`BGP.originator_id: ${r.originatorId}`));
  if (r.clusterList.length > 0) out.push(attr(`BGP.cluster_list: ${r.clusterList.join(' ')}`));
  if (r.largeCommunities.length > 0) {
    out.push(attr(`BGP.large_community: ${r.largeCommunities.map((c) => `(${c.split(':').join(', ')})`).join(' ')}`));
  }
  return out;
}

/** BIRD lists the preferred route of a network first, then the alternatives. */
export function orderPathsForDisplay(paths: readonly RoutePath[]): RoutePath[] {
  return [...paths.filter((p) => p.best), ...paths.filter((p) => !p.best)];
}

/** Groups routes by prefix, keeping first-seen order of networks. */
export function groupByPrefix(routes: Iterable<RoutePath>): Map<string, RoutePath[]> {
  const by = new Map<string, RoutePath[]>();
  for (const r of routes) {
    const list = by.get(r.prefix);
    if (list === undefined) by.set(r.prefix, [r]);
    else list.push(r);
  }
  return by;
}
