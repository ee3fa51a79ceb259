/**
 * bgpctl's output formatters behind one interface (OpenBGPD bgpctl's `struct output`): `text` for
 * people, `json` for scripts. Each method returns the complete stdout text for one command.
 */
import type { DaemonStatus, KernelRouteStatus, NeighborStatus, RoutePath } from '../status.js';
import { birdFullTime, birdShortTime, neighborBgpStateName, orderPathsForDisplay, groupByPrefix } from './bird-format.js';
import { calicoFamilySection, calicoRowFor } from './calico-table.js';
import type { KernelResult, LogLevelResult, NeighborActionResult, NeighborResult, NeighborsResult, ReloadResult, RoutesResult } from './json-protocol.js';

export interface Output {
  status(s: DaemonStatus): string;
  neighbors(r: NeighborsResult): string;
  neighbor(r: NeighborResult): string;
  routes(r: RoutesResult): string;
  kernel(r: KernelResult): string;
  reload(r: ReloadResult): string;
  neighborAction(r: NeighborActionResult): string;
  logLevel(r: LogLevelResult): string;
  /** A command error (exit 1); goes to stderr in text mode, stdout in json mode. */
  error(message: string, details?: readonly string[]): { readonly stdout: string; readonly stderr: string };
}

/** `2d 3h`, `4h 5m`, `6m 7s`, `8s`: two units are enough to read at a glance. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n').join('');
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
const orDash = (s: string | number | null): string => (s === null || s === '' ? '-' : String(s));

function kv(pairs: readonly (readonly [string, string])[], indent = '  '): string {
  const w = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${indent}${`${k}:`.padEnd(w)}  ${v}\n`).join('');
}

function originLetter(o: RoutePath['origin']): string {
  return o === 'IGP' ? 'i' : o === 'EGP' ? 'e' : '?';
}

export const textOutput: Output = {
  status(s) {
    const gr =
      s.gracefulRestart.state === 'running'
        ? `running: waiting for ${s.gracefulRestart.waitingFor} peer(s) to send End-of-RIB, ${s.gracefulRestart.remainingSec ?? '?'} s left`
        : 'none';
    return (
      `bgpd ${s.version}\n` +
      kv([
        ['Router ID', s.routerId],
        ['Local AS', String(s.asn)],
        ['Started', `${birdFullTime(s.startedMs)} (up ${formatDuration(s.nowMs - s.startedMs)})`],
        ['Config file', `${s.configFile} (loaded ${birdFullTime(s.configLoadedMs)})`],
        ['Graceful restart', gr],
        ['Loc-RIB routes', `IPv4 ${s.routesV4}, IPv6 ${s.routesV6}`],
        ['State', s.shuttingDown ? 'shutting down' : 'running'],
      ])
    );
  },

  neighbors(r) {
    const v4 = r.neighbors.filter((n) => n.afi === 'ipv4').map((n) => calicoRowFor(n, r.nowMs));
    const v6 = r.neighbors.filter((n) => n.afi === 'ipv6').map((n) => calicoRowFor(n, r.nowMs));
    return `${calicoFamilySection('IPv4', v4)}\n${calicoFamilySection('IPv6', v6)}`;
  },

  neighbor({ neighbor: n, nowMs }) {
    const row = calicoRowFor(n, nowMs);
    const timer = (total: number | null, left: number | null): string =>
      total === null ? '-' : left === null ? `${total} s` : `${total} s (${left} s left)`;
    const caps = (l: readonly string[]): string => (l.length === 0 ? '-' : l.join(' '));
    const gr = n.gracefulRestart;
    const msg = (d: NeighborStatus['messages']['in']): string[] => [
      String(d.open),
      String(d.update),
      String(d.notification),
      String(d.keepalive),
      String(d.routeRefresh),
      String(d.bytes),
    ];
    const stats = (d: NeighborStatus['importUpdates']): string[] => [String(d.received), String(d.rejected), String(d.filtered), String(d.ignored), String(d.accepted)];
    return (
      `Neighbor ${n.address} (${n.name}), ${n.peerType}, remote AS ${n.peerAs}, local AS ${n.localAs}\n` +
      kv([
        ['State', `${row.state} (${neighborBgpStateName(n)}) since ${birdShortTime(n.sinceMs, nowMs)}, ${formatDuration(nowMs - n.sinceMs)} ago`],
        ['Enabled', n.enabled ? 'yes' : 'no (disabled: bgpctl neighbor ADDRESS enable)'],
        ['Last error', orDash(n.lastError)],
        ['Neighbor ID', orDash(n.neighborId)],
        ['Source address', orDash(n.sourceAddress)],
        ['Passive', yesNo(n.passive)],
        ['RR client', yesNo(n.routeReflectorClient)],
        ['Hold time', timer(n.holdTimeSec, n.holdTimerRemainingSec)],
        ['Keepalive', timer(n.keepaliveSec, n.keepaliveTimerRemainingSec)],
        ['Capabilities sent', caps(n.capabilities.local)],
        ['Capabilities received', caps(n.capabilities.peer)],
        ['Negotiated', caps(n.capabilities.negotiated)],
        ['Graceful restart', gr.negotiated ? `negotiated, restart time ${orDash(gr.restartTimeSec)} s, ${gr.state}` : 'not negotiated'],
        ['Routes', `${n.routes.imported} imported, ${n.routes.exported} exported, ${n.routes.preferred} preferred, ${n.routes.filtered} filtered`],
        ...(n.updateErrors === undefined
          ? []
          : [
              [
                'UPDATE errors',
                `${n.updateErrors.treatAsWithdraw} treated as withdraw (RFC 7606), ${n.updateErrors.firstAsMismatch} of them first AS not the peer's (RFC 4271 §6.3)`,
              ] as [string, string],
            ]),
      ]) +
      '\n  Messages:\n' +
      columns([
        ['   ', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'REFRESH', 'BYTES'],
        ['    sent', ...msg(n.messages.out)],
        ['    received', ...msg(n.messages.in)],
      ]) +
      '\n  Route changes:\n' +
      columns([
        ['   ', 'RECEIVED', 'REJECTED', 'FILTERED', 'IGNORED', 'ACCEPTED'],
        ['    import updates', ...stats(n.importUpdates)],
        ['    import withdraws', ...stats(n.importWithdraws)],
      ])
    );
  },

  routes({ routes, nowMs }) {
    const legend = 'Flags: * best, + multipath, s stale.  Origin: i IGP, e EGP, ? incomplete.\n\n';
    const rows: string[][] = [['', 'PREFIX', 'NEXT HOP', 'AS PATH', 'LPREF', 'MED', 'FROM', 'SINCE', 'REASON']];
    const nets = groupByPrefix(routes);
    for (const paths of nets.values()) {
      for (const r of orderPathsForDisplay(paths)) {
        const flags = `${r.best ? '*' : ' '}${r.multipath && !r.best ? '+' : ' '}${r.stale ? 's' : ' '}`;
        const nh = r.kind === 'blackhole' ? 'blackhole' : `${r.nextHop ?? '-'}${r.device !== null ? ` (${r.device})` : ''}`;
        const path = `${r.asPath.trim() === '' ? '' : `${r.asPath.trim()} `}${originLetter(r.origin)}`;
        const from = r.peerAddress !== null ? `${r.from} (${r.peerAddress})` : r.from;
        rows.push([flags, r.prefix, nh, path, orDash(r.localPref), orDash(r.med), from, birdShortTime(r.sinceMs, nowMs), r.reason]);
      }
    }
    const summary = `\n${routes.length} path${routes.length === 1 ? '' : 's'} for ${nets.size} prefix${nets.size === 1 ? '' : 'es'}\n`;
    return legend + columns(rows) + summary;
  },

  kernel({ routes }) {
    const rows: string[][] = [['PREFIX', 'STATE', 'DESIRED', 'INSTALLED', 'RETRIES', 'ERROR']];
    for (const k of routes) rows.push([k.prefix, k.state, orDash(k.desired), orDash(k.installed), String(k.retries), orDash(k.error)]);
    const count = (s: KernelRouteStatus['state']): number => routes.filter((k) => k.state === s).length;
    return (
      columns(rows) +
      `\n${routes.length} route${routes.length === 1 ? '' : 's'}: ${count('in-sync')} in sync, ${count('pending')} pending, ${count('failed')} failed, ${count('stale')} stale\n`
    );
  },

  reload({ changes }) {
    if (changes.length === 0) return 'configuration reloaded: no changes\n';
    return `configuration reloaded, ${changes.length} change${changes.length === 1 ? '' : 's'}:\n${changes.map((c) => `  - ${c}\n`).join('')}`;
  },

  neighborAction(r) {
    return `neighbor ${r.address} (${r.name}): ${r.message === '' ? `${r.action} done` : r.message}\n`;
  },

  logLevel(r) {
    return `log level set to ${r.level}\n`;
  },

  error(message, details) {
    return { stdout: '', stderr: `bgpctl: ${message}\n${(details ?? []).map((d) => `  ${d}\n`).join('')}` };
  },
};

const json = (x: unknown): string => JSON.stringify(x, null, 2) + '\n';

export const jsonOutput: Output = {
  status: (s) => json(s),
  // The calicoctl rows are included so scripts need not re-derive STATE/INFO from BIRD semantics.
  neighbors: (r) => json({ ...r, table: r.neighbors.map((n) => ({ afi: n.afi, ...calicoRowFor(n, r.nowMs) })) }),
  neighbor: (r) => json(r),
  routes: (r) => json(r),
  kernel: (r) => json(r),
  reload: (r) => json(r),
  neighborAction: (r) => json(r),
  logLevel: (r) => json(r),
  error: (message, details) => ({ stdout: json({ error: message, ...(details === undefined ? {} : { details }) }), stderr: '' }),
};
