/**
 * The `calicoctl node status` peer table, reproduced for `bgpctl show neighbors`.
 *
 * calicoctl renders with github.com/olekukonko/tablewriter (v0.0.x) defaults: headers upper-cased
 * and centred, cells left-aligned unless numeric, auto-wrap at 30 columns using tablewriter's
 * minimum-raggedness WrapWords (so `Active Socket: Connection refused` becomes two lines, exactly
 * as Calico users see it in the wild).
 */
import type { NeighborStatus } from '../status.js';
import { neighborProtocol, protocolRow, CALICO_PROTOCOL_DISPLAY } from './bird-format.js';
import { NAME_RE, parseCalicoRow } from './calico-parse.js';
import type { CalicoPeerRow } from './calico-parse.js';

export type { CalicoPeerRow } from './calico-parse.js';

/**
 * The calicoctl row for a neighbor: wren renders its BIRD row and parses it as calicoctl would, so
 * the two can never disagree. A disabled peer, which calicoctl silently drops (its BIRD row has five
 * fields), is kept with INFO `Disabled`: an operator must see it.
 */
export function calicoRowFor(n: NeighborStatus, nowMs: number): CalicoPeerRow {
  const row = protocolRow(neighborProtocol(n, CALICO_PROTOCOL_DISPLAY, false), nowMs);
  const parsed = NAME_RE.test(n.name) ? parseCalicoRow(row, n.afi === 'ipv4' ? 4 : 6) : null;
  if (parsed !== null) return parsed;
  const cols = row.split(/\s+/).filter((c) => c !== '');
  const rest = cols.slice(6).join(' ');
  const info = cols.length >= 6 ? (rest === '' ? (cols[5] ?? '') : `${cols[5] ?? ''} ${rest}`) : 'Disabled';
  return { peerAddress: n.address, peerType: n.peerType, state: cols[3] ?? '', since: cols[4] ?? '', info };
}

// ---------------------------------------------------------------------------------------------
// tablewriter emulation

const MAX_CELL_WIDTH = 30;
const DEFAULT_PENALTY = 1e5;
const DECIMAL_RE = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;
const PERCENT_RE = /^-?\d+\.?\d*$%$/;

/** tablewriter's WrapWords: minimum raggedness, too-long lines penalised. */
function wrapWords(words: readonly string[], lim: number): string[][] {
  const n = words.length;
  const len = (i: number, j: number): number => {
    let l = 0;
    for (let k = i; k <= j; k++) l += (words[k] ?? '').length + (k > i ? 1 : 0);
    return l;
  };
  const nbrk = new Array<number>(n).fill(0);
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  for (let i = n - 1; i >= 0; i--) {
    if (len(i, n - 1) <= lim) {
      cost[i] = 0;
      nbrk[i] = n;
    } else {
      for (let j = i + 1; j < n; j++) {
        const d = lim - len(i, j - 1);
        let c = d * d + (cost[j] ?? 0);
        if (len(i, j - 1) > lim) c += DEFAULT_PENALTY;
        if (c < (cost[i] ?? 0)) {
          cost[i] = c;
          nbrk[i] = j;
        }
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; ) {
    const next = nbrk[i] ?? n;
    lines.push(words.slice(i, next));
    i = next;
  }
  return lines;
}

/** tablewriter's parseDimension: the cell's lines and the width it claims for its column. */
function cellLines(text: string): { lines: string[]; width: number } {
  const raw = text.split('\n');
  let maxWidth = Math.max(...raw.map((l) => l.length));
  if (maxWidth > MAX_CELL_WIDTH) maxWidth = MAX_CELL_WIDTH;
  let newMax = maxWidth;
  const lines: string[] = [];
  raw.forEach((para, i) => {
    const words = para.split(' ');
    const lim = Math.max(maxWidth, ...words.map((w) => w.length));
    const wrapped = wrapWords(words, lim).map((ws) => ws.join(' '));
    for (const l of wrapped) newMax = Math.max(newMax, l.length);
    if (i > 0) lines.push(' ');
    lines.push(...wrapped);
  });
  return { lines, width: newMax };
}

function padCenter(s: string, w: number): string {
  const gap = w - s.length;
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}

/** Renders a table byte-for-byte like tablewriter.NewWriter + SetHeader + Append + Render. */
export function renderTablewriter(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const title = (h: string): string => h.replaceAll('_', ' ').toUpperCase();
  const head = headers.map((h) => cellLines(title(h)));
  const body = rows.map((r) => headers.map((_, i) => cellLines(r[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(head[i]?.width ?? 0, ...body.map((r) => r[i]?.width ?? 0)));
  const border = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const printRow = (cells: readonly { lines: string[] }[], align: (s: string, w: number) => string): string => {
    const height = Math.max(...cells.map((c) => c.lines.length));
    let out = '';
    for (let l = 0; l < height; l++) {
      out += '|' + cells.map((c, i) => ` ${align(c.lines[l] ?? '', widths[i] ?? 0)} `).join('|') + '|\n';
    }
    return out;
  };
  const dataAlign = (s: string, w: number): string => {
    const t = s.trim();
    return DECIMAL_RE.test(t) || PERCENT_RE.test(t) ? s.padStart(w) : s.padEnd(w);
  };
  let out = border + printRow(head, padCenter) + border;
  for (const r of body) out += printRow(r, dataAlign);
  return out + border;
}

/** One family's section of `calicoctl node status`, without the leading blank line calicoctl prints. */
export function calicoFamilySection(family: 'IPv4' | 'IPv6', rows: readonly CalicoPeerRow[]): string {
  if (rows.length === 0) return `${family} BGP status\nNo ${family} peers found.\n`;
  const table = renderTablewriter(
    ['Peer address', 'Peer type', 'State', 'Since', 'Info'],
    rows.map((r) => [r.peerAddress, r.peerType, r.state, r.since, r.info]),
  );
  return `${family} BGP status\n${table}`;
}
