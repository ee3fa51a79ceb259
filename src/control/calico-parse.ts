/**
 * A re-implementation of how `calicoctl node status` parses BIRD's `show protocols` reply
 * (calicoctl/commands/node/status.go scanBIRDPeers + unmarshalBIRD; calico.md §3.3): a whitelist of
 * line prefixes, a strict header check, whitespace-split rows, `^(Global|Node|Mesh)_(.+)$` names.
 * Tests use it to prove the BIRD socket yields the seed cluster's table; bgpctl uses it so its
 * table can never disagree with calicoctl's.
 */
import type { PeerType } from '../status.js';

export interface CalicoPeerRow {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  /** BGPState + (" " + the rest of BIRD's info, when present), as calicoctl prints it. */
  readonly info: string;
}

export const NAME_RE = /^(Global|Node|Mesh)_(.+)$/;
const PEER_TYPES: Readonly<Record<string, PeerType>> = { Global: 'global', Mesh: 'node-to-node mesh', Node: 'node specific' };

/** calicoctl's unmarshalBIRD for one row (`line[5:]` of a 1002 line or `line[1:]` of a continuation). */
export function parseCalicoRow(row: string, ipVersion: 4 | 6): CalicoPeerRow | null {
  const cols = row.split(/[ \t\n\v\f\r]+/).filter((c) => c !== '');
  if (cols.length < 6 || cols[1] !== 'BGP') return null;
  const m = NAME_RE.exec(cols[0] ?? '');
  if (m === null) return null;
  const kind = m[1] ?? '';
  const rest = cols.slice(6).join(' ');
  return {
    peerAddress: (m[2] ?? '').replaceAll('_', ipVersion === 4 ? '.' : ':'),
    peerType: PEER_TYPES[kind] ?? kind,
    state: cols[3] ?? '',
    since: cols[4] ?? '',
    info: rest === '' ? (cols[5] ?? '') : `${cols[5] ?? ''} ${rest}`,
  };
}

export class CalicoParseError extends Error {
  override readonly name = 'CalicoParseError';
}

/**
 * calicoctl's scanBIRDPeers over the reply to `show protocols` (the greeting may precede it).
 * Throws the errors calicoctl reports, with its wording.
 */
export function parseCalicoProtocols(text: string, ipVersion: 4 | 6): CalicoPeerRow[] {
  const peers: CalicoPeerRow[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('0000')) return peers;
    if (line.startsWith('0001')) continue;
    if (line.startsWith('2002')) {
      const fields = line.slice(5).split(/\s+/).filter((f) => f !== '');
      if (fields.join(' ') !== 'name proto table state since info') throw new CalicoParseError('unknown BIRD table output format');
      continue;
    }
    let row: string;
    if (line.startsWith('1002')) row = line.slice(5);
    else if (line.startsWith(' ')) row = line.slice(1);
    else throw new CalicoParseError('unexpected output line from BIRD');
    const peer = parseCalicoRow(row, ipVersion);
    if (peer !== null) peers.push(peer);
  }
  throw new CalicoParseError('BIRD reply ended without 0000');
}

