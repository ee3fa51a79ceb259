/**
 * 4-octet AS numbers across 2-octet peers (RFC 6793), and the AS path length used by the
 * decision process (RFC 4271 §9.1.2.2).
 *
 * A 2-octet ("OLD") peer sends AS_PATH with AS_TRANS (23456) in place of each 4-octet ASN, plus
 * AS4_PATH with the true 4-octet ASNs of the path's tail. fromTwoOctet() rebuilds the true path;
 * toTwoOctet() is the reverse for sending.
 */
import { AS_TRANS, AsPathSegmentType } from './constants.js';
import type { Aggregator, AsPathSegment, PathAttributes } from './types.js';

const MAX_ASN2 = 0xffff;

function isConfed(seg: AsPathSegment): boolean {
  return seg.type === AsPathSegmentType.ConfedSequence || seg.type === AsPathSegmentType.ConfedSet;
}

/**
 * RFC 4271 §9.1.2.2 (a): "an AS_SET counts as 1, no matter how many ASes are in the set", and
 * RFC 5065 §5.3: confederation segments do not count.
 */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.Sequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.Set) n += 1;
  }
  return n;
}

/**
 * The leftmost AS of a path, the one RFC 4271 §6.3 compares with an eBGP peer's AS: the first AS
 * of a leading AS_SEQUENCE. An empty path or one that starts with an AS_SET (or a confederation
 * segment, RFC 5065) has none: null.
 */
export function leftmostAs(segments: readonly AsPathSegment[] | undefined): number | null {
  const first = segments?.[0];
  if (first === undefined || first.type !== AsPathSegmentType.Sequence) return null;
  return first.asns[0] ?? null;
}

/** Append a segment, merging consecutive AS_SEQUENCEs so the result is canonical. */
function push(out: AsPathSegment[], seg: AsPathSegment): void {
  const last = out[out.length - 1];
  if (last !== undefined && last.type === AsPathSegmentType.Sequence && seg.type === AsPathSegmentType.Sequence) {
    out[out.length - 1] = { type: AsPathSegmentType.Sequence, asns: [...last.asns, ...seg.asns] };
  } else {
    out.push(seg);
  }
}

/**
 * RFC 6793 §4.2.3: rebuild the path from AS_PATH and AS4_PATH received from a 2-octet peer.
 * - "If the number of AS numbers in the AS_PATH attribute is less than the number of AS numbers
 *   in the AS4_PATH attribute, then the AS4_PATH attribute SHALL be ignored, and the AS_PATH
 *   attribute SHALL be taken as the AS path information."
 * - Otherwise the leading (n - m) AS numbers of AS_PATH are prepended to AS4_PATH; confederation
 *   segments met on the way are kept (they count 0).
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const n = asPathLength(asPath);
  const m = asPathLength(as4Path);
  if (n < m) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  let budget = n - m;
  const out: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (isConfed(seg)) {
      // "a valid AS_CONFED_SEQUENCE or AS_CONFED_SET path segment SHALL be prepended if it is
      // either the leading path segment or is adjacent to a path segment that is prepended."
      if (budget > 0 || out.length === 0) out.push({ type: seg.type, asns: [...seg.asns] });
      continue;
    }
    if (budget === 0) break;
    if (seg.type === AsPathSegmentType.Set) {
      out.push({ type: seg.type, asns: [...seg.asns] });
      budget -= 1;
    } else {
      const take = Math.min(budget, seg.asns.length);
      push(out, { type: seg.type, asns: seg.asns.slice(0, take) });
      budget -= take;
    }
  }
  for (const seg of as4Path) {
    // RFC 6793 §6: confederation segments are invalid in AS4_PATH and are dropped.
    if (isConfed(seg) || seg.asns.length === 0) continue;
    push(out, { type: seg.type, asns: [...seg.asns] });
  }
  return out;
}

export interface As4Result {
  readonly asPath: readonly AsPathSegment[];
  readonly aggregator?: Aggregator;
}

/**
 * RFC 6793 §4.2.3 in full, for attributes received from a 2-octet peer:
 * - "If the AGGREGATOR attribute contains an AS number other than AS_TRANS, and the AS4_AGGREGATOR
 *   attribute is present, then AS4_AGGREGATOR and AS4_PATH SHALL be ignored" (the aggregating
 *   speaker was OLD and its AS4_PATH is stale);
 * - if AGGREGATOR carries AS_TRANS and AS4_AGGREGATOR is present, AS4_AGGREGATOR replaces it;
 * - then AS_PATH and AS4_PATH are merged (mergeAs4Path).
 */
export function reconstructAs4(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[] | undefined,
  aggregator: Aggregator | undefined,
  as4Aggregator: Aggregator | undefined,
): As4Result {
  let agg = aggregator;
  let useAs4Path = as4Path !== undefined;
  if (aggregator !== undefined && as4Aggregator !== undefined) {
    if (aggregator.asn !== AS_TRANS) useAs4Path = false;
    else agg = as4Aggregator;
  }
  const path = useAs4Path && as4Path !== undefined ? mergeAs4Path(asPath, as4Path) : asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  return agg === undefined ? { asPath: path } : { asPath: path, aggregator: agg };
}

/**
 * Attributes received from a 2-octet peer, with the true 4-octet path and aggregator in asPath and
 * aggregator, and AS4_PATH / AS4_AGGREGATOR removed (they are rebuilt by toTwoOctet on the way out).
 */
export function fromTwoOctet(attrs: PathAttributes): PathAttributes {
  const { as4Path, as4Aggregator, ...rest } = attrs;
  if (attrs.asPath === undefined) return rest;
  const r = reconstructAs4(attrs.asPath, as4Path, attrs.aggregator, as4Aggregator);
  const out: { -readonly [K in keyof PathAttributes]?: PathAttributes[K] } = { ...rest, asPath: r.asPath };
  if (r.aggregator !== undefined) out.aggregator = r.aggregator;
  return out;
}

/**
 * RFC 6793 §4.2.2: attributes to send to a 2-octet peer. AS_PATH carries AS_TRANS for every
 * 4-octet ASN; AS4_PATH carries the true path without confederation segments ("MUST exclude"),
 * and is only sent when some ASN needs it. Likewise AGGREGATOR / AS4_AGGREGATOR.
 */
export function toTwoOctet(attrs: PathAttributes): PathAttributes {
  const { as4Path: _p, as4Aggregator: _a, ...rest } = attrs;
  const out: { -readonly [K in keyof PathAttributes]?: PathAttributes[K] } = { ...rest };
  if (attrs.asPath !== undefined) {
    let wide = false;
    const two = attrs.asPath.map((s) => ({
      type: s.type,
      asns: s.asns.map((a) => {
        if (a > MAX_ASN2) {
          wide = true;
          return AS_TRANS;
        }
        return a;
      }),
    }));
    out.asPath = two;
    if (wide) out.as4Path = attrs.asPath.filter((s) => !isConfed(s)).map((s) => ({ type: s.type, asns: [...s.asns] }));
  }
  if (attrs.aggregator !== undefined && attrs.aggregator.asn > MAX_ASN2) {
    out.aggregator = { asn: AS_TRANS, address: attrs.aggregator.address };
    out.as4Aggregator = attrs.aggregator;
  }
  return out;
}
