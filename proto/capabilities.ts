/**
 * Capabilities (RFC 5492 §4), carried in OPEN optional parameters of type 2. Each one is a TLV:
 *
 * +------------------------------+
 * | Capability Code (1 octet)    |
 * +------------------------------+
 * | Capability Length (1 octet)  |
 * +------------------------------+
 * | Capability Value (variable)  |
 * ~                              ~
 * +------------------------------+
 *
 * Error rule for every capability below: a Capability Length that does not fit the parameter, or
 * a value whose length is wrong for its code, is an OPEN Message Error with subcode 0 (Unspecific)
 * and empty Data. RFC 5492 names no subcode for it; RFC 4271 §6.2 does: "If one of the Optional
 * Parameters in the OPEN message is recognized, but is malformed, then the Error Subcode MUST be
 * set to 0 (Unspecific)." BIRD (`bgp_read_capabilities`: `bgp_error(conn, 2, 0, NULL, 0)`) and
 * Quagga since 68ec424e do the same. Unsupported Capability (subcode 7) is for the FSM: it means
 * "I need a capability you did not send", not "your TLV is broken".
 *
 * Unknown capability codes are kept raw (RFC 5492 §4: a capability the receiver does not
 * recognize is ignored, never an error), as are values we cannot judge (an ADD-PATH mode of 7): negotiation
 * decides what to ignore, the codec only keeps the bytes faithful.
 */
import { Buffer } from 'node:buffer';
import { CapabilityCode } from './constants.js';
import { Errors } from './errors.js';
import type { BgpError } from './errors.js';
import { Reader } from './reader.js';
import type { AddPathFamily, Capability, ExtendedNextHopEntry, GracefulRestartFamily } from './types.js';
import type { Writer } from './writer.js';

/** Graceful Restart flag bits (RFC 4724 §3, RFC 8538 §2 for N) in the Restart Flags nibble. */
const GR_RESTARTING = 0x8000;
const GR_NOTIFICATION = 0x4000;
const GR_TIME_MASK = 0x0fff;
/** RFC 4724 §3: Forwarding State bit of the per-AFI flags. */
const GR_FORWARDING = 0x80;

function malformed(what: string): () => BgpError {
  return () => Errors.malformedOpen(what);
}

const shortCapabilityHeader = malformed('capability header runs past its optional parameter');

/**
 * Decode the capabilities in the value of one Capabilities optional parameter (`r` spans exactly
 * the parameter value). RFC 5492 §4: a parameter may carry one or several capabilities.
 */
export function decodeCapabilities(r: Reader): Capability[] {
  const out: Capability[] = [];
  while (r.pos < r.end) {
    if (r.end - r.pos < 2) throw shortCapabilityHeader();
    const code = r.buf[r.pos]!;
    const length = r.buf[r.pos + 1]!;
    r.pos += 2;
    if (r.end - r.pos < length) throw Errors.malformedOpen(`capability ${code} length ${length} runs past its optional parameter`);
    out.push(decodeCapabilityValue(code, r.buf, r.pos, length));
    r.pos += length;
  }
  return out;
}

/** Decode one capability from its code and value (`buf[pos..pos+length)`, already bounds-checked). */
export function decodeCapabilityValue(code: number, buf: Buffer, pos: number, length: number): Capability {
  switch (code) {
    case CapabilityCode.Multiprotocol: {
      // RFC 4760 §8: AFI (2) | Reserved (1) | SAFI (1); the receiver ignores the reserved octet.
      expectLength(code, length, length === 4);
      return { type: 'multiprotocol', afi: u16(buf, pos), safi: buf[pos + 3]! };
    }
    case CapabilityCode.RouteRefresh:
      // RFC 2918 §2: the capability has length 0.
      expectLength(code, length, length === 0);
      return { type: 'route-refresh' };
    case CapabilityCode.RouteRefreshCisco:
      expectLength(code, length, length === 0);
      return { type: 'route-refresh-legacy' };
    case CapabilityCode.EnhancedRouteRefresh:
      // RFC 7313 §3: length 0.
      expectLength(code, length, length === 0);
      return { type: 'enhanced-route-refresh' };
    case CapabilityCode.ExtendedMessage:
      // RFC 8654 §3: length 0.
      expectLength(code, length, length === 0);
      return { type: 'extended-message' };
    case CapabilityCode.FourOctetAs:
      // RFC 6793 §3: the value is the 4-octet AS number.
      expectLength(code, length, length === 4);
      return { type: 'four-octet-as', asn: buf.readUInt32BE(pos) };
    case CapabilityCode.GracefulRestart:
      return decodeGracefulRestart(buf, pos, length);
    case CapabilityCode.AddPath: {
      // RFC 7911 §4: a list of AFI (2) | SAFI (1) | Send/Receive (1).
      expectLength(code, length, length % 4 === 0);
      const families: AddPathFamily[] = [];
      for (let p = pos, end = pos + length; p < end; p += 4) {
        families.push({ afi: u16(buf, p), safi: buf[p + 2]!, mode: buf[p + 3]! });
      }
      return { type: 'add-path', families };
    }
    case CapabilityCode.ExtendedNextHop: {
      // RFC 8950 §3: a list of NLRI AFI (2) | NLRI SAFI (2) | Nexthop AFI (2).
      expectLength(code, length, length % 6 === 0);
      const entries: ExtendedNextHopEntry[] = [];
      for (let p = pos, end = pos + length; p < end; p += 6) {
        entries.push({ afi: u16(buf, p), safi: u16(buf, p + 2), nextHopAfi: u16(buf, p + 4) });
      }
      return { type: 'extended-next-hop', entries };
    }
    case CapabilityCode.Fqdn:
      return decodeFqdn(buf, pos, length);
    default:
      return { type: 'unknown', code, value: Uint8Array.from(buf.subarray(pos, pos + length)) };
  }
}

function expectLength(code: number, length: number, ok: boolean): void {
  if (!ok) throw Errors.malformedOpen(`capability ${code} has invalid length ${length}`);
}

function u16(buf: Buffer, pos: number): number {
  return (buf[pos]! << 8) | buf[pos + 1]!;
}

/**
 * RFC 4724 §3 (N bit: RFC 8538 §2):
 *
 * +--------------------------------------------------+
 * | Restart Flags (4 bits)                           |
 * +--------------------------------------------------+
 * | Restart Time in seconds (12 bits)                |
 * +--------------------------------------------------+
 * | Address Family Identifier (16 bits)              |
 * +--------------------------------------------------+
 * | Subsequent Address Family Identifier (8 bits)    |
 * +--------------------------------------------------+
 * | Flags for Address Family (8 bits)                |
 * +--------------------------------------------------+
 * | ...                                              |
 *
 * Restart Flags: R (0x8) restarted, N (0x4) graceful notification. The reserved bits and the
 * reserved per-AFI flag bits are ignored on receipt and sent as zero.
 */
function decodeGracefulRestart(buf: Buffer, pos: number, length: number): Capability {
  expectLength(CapabilityCode.GracefulRestart, length, length >= 2 && (length - 2) % 4 === 0);
  const head = u16(buf, pos);
  const families: GracefulRestartFamily[] = [];
  for (let p = pos + 2, end = pos + length; p < end; p += 4) {
    families.push({ afi: u16(buf, p), safi: buf[p + 2]!, forwardingPreserved: (buf[p + 3]! & GR_FORWARDING) !== 0 });
  }
  return {
    type: 'graceful-restart',
    restarting: (head & GR_RESTARTING) !== 0,
    notification: (head & GR_NOTIFICATION) !== 0,
    restartTimeSec: head & GR_TIME_MASK,
    families,
  };
}

/**
 * draft-walton-bgp-hostname-capability-02 §3 (code 73):
 *
 * +--------------------------------+
 * | Hostname Length (1 octet)      |
 * +--------------------------------+
 * | Hostname (variable)            |
 * +--------------------------------+
 * | Domain Name Length (1 octet)   |
 * +--------------------------------+
 * | Domain Name (variable)         |
 * +--------------------------------+
 *
 * Both inner lengths must account for the capability length exactly. Names are decoded as UTF-8
 * (the draft asks for ASCII; UTF-8 is its superset and what FRR sends for non-ASCII hostnames).
 */
function decodeFqdn(buf: Buffer, pos: number, length: number): Capability {
  const bad = malformed(`capability ${CapabilityCode.Fqdn} (FQDN) lengths do not match its length ${length}`);
  const r = new Reader(buf, pos, pos + length, bad);
  const hostname = r.view(r.u8()).toString('utf8');
  const domain = r.view(r.u8()).toString('utf8');
  if (!r.done) throw bad();
  return { type: 'fqdn', hostname, domain };
}

// --- encoding ----------------------------------------------------------------------------------

/**
 * Append one capability TLV. A value longer than 255 octets cannot be expressed (the length is one
 * octet); that is a configuration bug on our side, so it throws a RangeError.
 */
export function encodeCapability(w: Writer, cap: Capability): void {
  switch (cap.type) {
    case 'multiprotocol':
      w.u8(CapabilityCode.Multiprotocol).u8(4).u16(cap.afi).u8(0).u8(cap.safi);
      return;
    case 'route-refresh':
      w.u8(CapabilityCode.RouteRefresh).u8(0);
      return;
    case 'route-refresh-legacy':
      w.u8(CapabilityCode.RouteRefreshCisco).u8(0);
      return;
    case 'enhanced-route-refresh':
      w.u8(CapabilityCode.EnhancedRouteRefresh).u8(0);
      return;
    case 'extended-message':
      w.u8(CapabilityCode.ExtendedMessage).u8(0);
      return;
    case 'four-octet-as':
      w.u8(CapabilityCode.FourOctetAs).u8(4).u32(cap.asn);
      return;
    case 'graceful-restart': {
      const at = begin(w, CapabilityCode.GracefulRestart);
      w.u16((cap.restarting ? GR_RESTARTING : 0) | (cap.notification ? GR_NOTIFICATION : 0) | (cap.restartTimeSec & GR_TIME_MASK));
      for (const f of cap.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingPreserved ? GR_FORWARDING : 0);
      end(w, at, CapabilityCode.GracefulRestart);
      return;
    }
    case 'add-path': {
      const at = begin(w, CapabilityCode.AddPath);
      for (const f of cap.families) w.u16(f.afi).u8(f.safi).u8(f.mode);
      end(w, at, CapabilityCode.AddPath);
      return;
    }
    case 'extended-next-hop': {
      const at = begin(w, CapabilityCode.ExtendedNextHop);
      for (const e of cap.entries) w.u16(e.afi).u16(e.safi).u16(e.nextHopAfi);
      end(w, at, CapabilityCode.ExtendedNextHop);
      return;
    }
    case 'fqdn': {
      const at = begin(w, CapabilityCode.Fqdn);
      writeName(w, cap.hostname);
      writeName(w, cap.domain);
      end(w, at, CapabilityCode.Fqdn);
      return;
    }
    case 'unknown': {
      const at = begin(w, cap.code);
      w.bytes(cap.value);
      end(w, at, cap.code);
      return;
    }
    default:
      assertNever(cap);
  }
}

/** Append each capability TLV in order (the value of one Capabilities optional parameter). */
export function encodeCapabilities(w: Writer, caps: readonly Capability[]): void {
  for (const cap of caps) encodeCapability(w, cap);
}

function begin(w: Writer, code: number): number {
  w.u8(code);
  return w.reserve(1);
}

function end(w: Writer, at: number, code: number): void {
  const len = w.pos - at - 1;
  if (len > 255) throw new RangeError(`capability ${code} value of ${len} octets does not fit its 1-octet length`);
  w.patchLength(at, 1);
}

function writeName(w: Writer, name: string): void {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > 255) throw new RangeError(`FQDN capability name of ${bytes.length} octets exceeds 255`);
  w.u8(bytes.length).bytes(bytes);
}

function assertNever(x: never): never {
  throw new TypeError(`unhandled capability ${JSON.stringify(x)}`);
}
