// An independent check of the encoders: every message type wren sends is written into a pcap of a
// synthetic TCP session on port 179 and dissected by tshark (Wireshark's BGP dissector). The test
// asserts that tshark finds nothing malformed and that the fields it decodes are the values we
// encoded. tshark is a required test dependency (CI installs it): missing tshark fails the test.
import t from 'tap';
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CeaseSubcode, Errors } from '../../proto/errors.js';
import { decodeMessage, encodeMessage } from '../../proto/messages.js';
import { errorToNotification, makeShutdownNotification } from '../../proto/notification.js';
import { makeOpen } from '../../proto/open.js';
import { parseIpv6, prefix4, prefix6 } from '../../proto/prefix.js';
import { DEFAULT_CONTEXT, Family } from '../../proto/types.js';
import type { Capability, CodecContext, Message, UpdateMessage } from '../../proto/types.js';
import { TcpSession } from './pcap.js';

const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const v6 = (text: string, len: number): string => prefix6(parseIpv6(text)!, len);

// --- what we send --------------------------------------------------------------------------------

const ALL_CAPABILITIES: Capability[] = [
  { type: 'multiprotocol', afi: 1, safi: 1 },
  { type: 'multiprotocol', afi: 2, safi: 1 },
  { type: 'route-refresh' },
  { type: 'route-refresh-legacy' },
  { type: 'enhanced-route-refresh' },
  { type: 'four-octet-as', asn: 4200000001 },
  {
    type: 'graceful-restart', restarting: true, notification: true, restartTimeSec: 120,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: false }],
  },
  { type: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] },
  { type: 'extended-message' },
  { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
  { type: 'fqdn', hostname: 'node-1', domain: 'cluster.local' },
];
/** Capability codes in the order above. */
const ALL_CAPABILITY_CODES = [1, 1, 2, 128, 70, 65, 64, 69, 6, 5, 73];

const OPEN = makeOpen({ asn: 4200000001, holdTimeSec: 90, bgpId: ip4(192, 0, 2, 1), capabilities: ALL_CAPABILITIES });
const PEER_OPEN = makeOpen({
  asn: 65002, holdTimeSec: 180, bgpId: ip4(192, 0, 2, 2),
  capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }, { type: 'four-octet-as', asn: 65002 }],
});

/** IPv4 unicast with every path attribute wren encodes (RFC 4271, 1997, 4360, 4456, 8092). */
const UPDATE_V4: UpdateMessage = {
  type: 'update',
  withdrawn: [prefix4(ip4(172, 16, 0, 0), 12)],
  attrs: {
    origin: 0,
    asPath: [{ type: 2, asns: [4200000001, 65010, 65020] }, { type: 1, asns: [65030, 65040] }],
    nextHop: ip4(192, 0, 2, 1),
    med: 100,
    localPref: 200,
    atomicAggregate: true,
    aggregator: { asn: 4200000001, address: ip4(192, 0, 2, 9) },
    communities: [((65001 << 16) | 100) >>> 0, 0xffffff01],
    originatorId: ip4(10, 0, 0, 9),
    clusterList: [ip4(10, 0, 0, 1), ip4(10, 0, 0, 2)],
    // Route Target 65001:42 (RFC 4360 §4: type 0x00 two-octet AS, subtype 0x02).
    extendedCommunities: [Uint8Array.of(0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 42)],
    largeCommunities: [[4200000001, 1, 2]],
  },
  nlri: [prefix4(ip4(10, 1, 0, 0), 16), prefix4(ip4(10, 2, 3, 0), 24), prefix4(ip4(192, 168, 100, 128), 25)],
};

/** IPv6 unicast in MP_REACH_NLRI with a global and a link-local next hop (RFC 4760, RFC 2545 §3). */
const UPDATE_V6: UpdateMessage = {
  type: 'update',
  withdrawn: [],
  attrs: { origin: 0, asPath: [{ type: 2, asns: [4200000001] }], localPref: 100 },
  mpReach: {
    afi: 2, safi: 1, nextHop: '2001:db8::1', linkLocal: 'fe80::1',
    nlri: [v6('2001:db8:100::', 48), v6('2001:db8:200::', 56)],
  },
  nlri: [],
};

// attrs is {} rather than null: MP_UNREACH_NLRI is itself a path attribute (update.ts decodes so).
const UNREACH_V6: UpdateMessage = {
  type: 'update', withdrawn: [], attrs: {}, nlri: [],
  mpUnreach: { afi: 2, safi: 1, withdrawn: [v6('2001:db8:300::', 48)] },
};

/** RFC 7911: two paths for one IPv4 prefix, path identifiers 1 and 2. */
const UPDATE_ADD_PATH: UpdateMessage = {
  type: 'update',
  withdrawn: [],
  withdrawnPathIds: [],
  attrs: { origin: 0, asPath: [{ type: 2, asns: [4200000001] }], nextHop: ip4(192, 0, 2, 1) },
  nlri: [prefix4(ip4(10, 9, 0, 0), 24), prefix4(ip4(10, 9, 0, 0), 24)],
  nlriPathIds: [1, 2],
};

/** A 2-octet-AS session (RFC 6793 §4.2.2): AS_TRANS in AS_PATH/AGGREGATOR, the truth in AS4_*. */
const UPDATE_AS4: UpdateMessage = {
  type: 'update',
  withdrawn: [],
  attrs: {
    origin: 0,
    asPath: [{ type: 2, asns: [23456, 65010] }],
    nextHop: ip4(192, 0, 2, 1),
    aggregator: { asn: 23456, address: ip4(192, 0, 2, 9) },
    as4Path: [{ type: 2, asns: [4200000001, 65010] }],
    as4Aggregator: { asn: 4200000001, address: ip4(192, 0, 2, 9) },
  },
  nlri: [prefix4(ip4(10, 20, 0, 0), 16)],
};

/** RFC 8950: IPv4 unicast NLRI with an IPv6 next hop, in MP_REACH_NLRI. */
const UPDATE_V4_OVER_V6: UpdateMessage = {
  type: 'update',
  withdrawn: [],
  attrs: { origin: 0, asPath: [{ type: 2, asns: [4200000001] }] },
  mpReach: { afi: 1, safi: 1, nextHop: '2001:db8::7', nlri: [prefix4(ip4(10, 30, 0, 0), 24)] },
  nlri: [],
};

const EOR_V4: UpdateMessage = { type: 'update', withdrawn: [], attrs: null, nlri: [] };
const EOR_V6: UpdateMessage = { type: 'update', withdrawn: [], attrs: {}, nlri: [], mpUnreach: { afi: 2, safi: 1, withdrawn: [] } };

const SHUTDOWN_TEXT = 'planned maintenance \u2014 back at 14:00 UTC';

const ctx: CodecContext = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const addPathCtx: CodecContext = { ...ctx, addPath: new Set([Family.Ipv4Unicast]) };
const twoOctetCtx: CodecContext = { ...ctx, fourOctetAs: false };
const extNextHopCtx: CodecContext = { ...ctx, extendedNextHop: new Set([Family.Ipv4Unicast]) };


/** One TCP segment: who sends it and the messages in it, optionally cut at octet offsets. */
interface Segment {
  readonly fromClient: boolean;
  readonly messages: readonly (readonly [Message, CodecContext])[];
  readonly cutAt?: readonly number[];
}

const RR = (afi: number, subtype: number): Message => ({ type: 'route-refresh', afi, safi: 1, subtype });
const KA: Message = { type: 'keepalive' };

/**
 * Not in the capture: an OPEN in the RFC 9072 extended optional parameters format. tshark 4.0's
 * dissector predates RFC 9072 and reports it malformed; open.test.ts and the open-extended-params
 * fixture cover it.
 *
 * The session in wire order. The first OPEN is cut into three segments (tshark must reassemble
 * it); two segments carry two messages each (several PDUs per segment).
 */
const SEGMENTS: Segment[] = [
  { fromClient: true, messages: [[OPEN, DEFAULT_CONTEXT]], cutAt: [10, 40] },
  { fromClient: false, messages: [[PEER_OPEN, DEFAULT_CONTEXT], [KA, ctx]] },
  { fromClient: true, messages: [[KA, ctx]] },
  { fromClient: true, messages: [[UPDATE_V4, ctx]] },
  { fromClient: true, messages: [[UPDATE_V6, ctx]] },
  { fromClient: true, messages: [[UNREACH_V6, ctx]] },
  { fromClient: true, messages: [[UPDATE_ADD_PATH, addPathCtx]] },
  { fromClient: true, messages: [[UPDATE_AS4, twoOctetCtx]] },
  { fromClient: true, messages: [[UPDATE_V4_OVER_V6, extNextHopCtx]] },
  { fromClient: true, messages: [[EOR_V4, ctx]] },
  { fromClient: true, messages: [[EOR_V6, ctx]] },
  { fromClient: false, messages: [[RR(1, 0), ctx], [KA, ctx]] },
  { fromClient: true, messages: [[RR(1, 1), ctx]] },
  { fromClient: true, messages: [[RR(1, 2), ctx]] },
  { fromClient: false, messages: [[RR(2, 0), ctx]] },
  { fromClient: true, messages: [[errorToNotification(Errors.unsupportedVersion(5)), ctx]] },
  { fromClient: false, messages: [[errorToNotification(Errors.holdTimerExpired()), ctx]] },
  { fromClient: false, messages: [[errorToNotification(Errors.badMessageLength(4097)), ctx]] },
  { fromClient: true, messages: [[makeShutdownNotification(CeaseSubcode.AdministrativeShutdown, SHUTDOWN_TEXT), ctx]] },
];

type Fields = Record<string, string[]>;

/**
 * What tshark must show for each message, in wire order (the fields checked; others are free).
 * Field names are Wireshark's (`tshark -G fields | grep bgp`).
 */
const EXPECTED: { what: string; fields: Fields }[] = [
  {
    what: 'OPEN with every capability',
    fields: {
      'bgp.type': ['1'], 'bgp.open.version': ['4'], 'bgp.open.myas': ['23456'], 'bgp.open.holdtime': ['90'],
      'bgp.open.identifier': ['192.0.2.1'], 'bgp.open.opt.param.type': ['2'], 'bgp.cap.type': ALL_CAPABILITY_CODES.map(String),
      'bgp.cap.mp.afi': ['1', '2'], 'bgp.cap.mp.safi': ['1', '1'], 'bgp.cap.4as': ['4200000001'],
      'bgp.cap.gr.timers.restart_flag': ['1'], 'bgp.cap.gr.timers.notification_flag': ['1'], 'bgp.cap.gr.timers.restart_time': ['120'],
      'bgp.cap.gr.afi': ['1', '2'], 'bgp.cap.gr.flag.pfs': ['1', '0'],
      'bgp.cap.ap.afi': ['1', '2'], 'bgp.cap.ap.sendreceive': ['3', '1'],
      'bgp.cap.enh.afi': ['1'], 'bgp.cap.enh.safi': ['1'], 'bgp.cap.enh.nhafi': ['2'],
      'bgp.cap.orf.fqdn.hostname': ['node-1'], 'bgp.cap.orf.fqdn.domain_name': ['cluster.local'],
    },
  },
  {
    what: "the peer's OPEN",
    fields: { 'bgp.type': ['1'], 'bgp.open.myas': ['65002'], 'bgp.open.holdtime': ['180'], 'bgp.open.identifier': ['192.0.2.2'], 'bgp.cap.type': ['1', '65'], 'bgp.cap.4as': ['65002'] },
  },
  { what: 'KEEPALIVE in the same segment', fields: { 'bgp.type': ['4'], 'bgp.length': ['19'] } },
  { what: 'KEEPALIVE', fields: { 'bgp.type': ['4'], 'bgp.length': ['19'] } },
  {
    what: 'IPv4 UPDATE with every attribute',
    fields: {
      'bgp.type': ['2'],
      'bgp.withdrawn_prefix': ['172.16.0.0'],
      'bgp.update.path_attribute.type_code': ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '16', '32'],
      'bgp.update.path_attribute.origin': ['0'],
      'bgp.update.path_attribute.as_path_segment.type': ['2', '1'],
      'bgp.update.path_attribute.as_path_segment.as4': ['4200000001', '65010', '65020', '65030', '65040'],
      'bgp.update.path_attribute.next_hop': ['192.0.2.1'],
      'bgp.update.path_attribute.multi_exit_disc': ['100'],
      'bgp.update.path_attribute.local_pref': ['200'],
      'bgp.update.path_attribute.aggregator_as': ['4200000001'],
      'bgp.update.path_attribute.aggregator_origin': ['192.0.2.9'],
      'bgp.update.path_attribute.community_as': ['65001'],
      'bgp.update.path_attribute.community_value': ['100'],
      'bgp.update.path_attribute.community_wellknown': ['0xffffff01'],
      'bgp.update.path_attribute.originator_id': ['10.0.0.9'],
      'bgp.path_attribute.cluster_id': ['10.0.0.1', '10.0.0.2'],
      'bgp.ext_com.value_as2': ['65001'],
      'bgp.ext_com.value_an4': ['42'],
      'bgp.large_communities.ga': ['4200000001'],
      'bgp.large_communities.ldp1': ['1'],
      'bgp.large_communities.ldp2': ['2'],
      'bgp.nlri_prefix': ['10.1.0.0', '10.2.3.0', '192.168.100.128'],
      'bgp.prefix_length': ['12', '16', '24', '25'],
    },
  },
  {
    what: 'IPv6 MP_REACH_NLRI with a link-local next hop',
    fields: {
      'bgp.type': ['2'],
      'bgp.update.path_attribute.type_code': ['14', '1', '2', '5'],
      'bgp.update.path_attribute.mp_reach_nlri.afi': ['2'],
      'bgp.update.path_attribute.mp_reach_nlri.safi': ['1'],
      'bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6': ['2001:db8::1'],
      'bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local': ['fe80::1'],
      'bgp.mp_reach_nlri_ipv6_prefix': ['2001:db8:100::', '2001:db8:200::'],
      'bgp.prefix_length': ['48', '56'],
    },
  },
  {
    what: 'IPv6 MP_UNREACH_NLRI',
    fields: {
      'bgp.type': ['2'], 'bgp.update.path_attribute.type_code': ['15'], 'bgp.update.path_attribute.mp_unreach_nlri.afi': ['2'],
      'bgp.mp_unreach_nlri_ipv6_prefix': ['2001:db8:300::'], 'bgp.prefix_length': ['48'],
    },
  },
  {
    what: 'ADD-PATH IPv4 (tshark detects path identifiers heuristically)',
    fields: { 'bgp.type': ['2'], 'bgp.nlri_path_id': ['1', '2'], 'bgp.nlri_prefix': ['10.9.0.0', '10.9.0.0'], 'bgp.prefix_length': ['24', '24'] },
  },
  {
    what: '2-octet-AS UPDATE: AS_TRANS in AS_PATH and AGGREGATOR, the 4-octet truth in AS4_PATH and AS4_AGGREGATOR',
    fields: {
      'bgp.type': ['2'],
      'bgp.update.path_attribute.type_code': ['1', '2', '3', '7', '17', '18'],
      'bgp.update.path_attribute.as_path_segment.as2': ['23456', '65010'],
      'bgp.update.path_attribute.as_path_segment.as4': ['4200000001', '65010'],
      'bgp.update.path_attribute.aggregator_as': ['23456', '4200000001'],
      'bgp.nlri_prefix': ['10.20.0.0'],
    },
  },
  {
    what: 'IPv4 NLRI with an IPv6 next hop (RFC 8950)',
    fields: {
      'bgp.type': ['2'],
      'bgp.update.path_attribute.mp_reach_nlri.afi': ['1'],
      'bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6': ['2001:db8::7'],
      'bgp.mp_reach_nlri_ipv4_prefix': ['10.30.0.0'],
      'bgp.prefix_length': ['24'],
    },
  },
  {
    what: 'End-of-RIB IPv4: an empty UPDATE',
    fields: { 'bgp.type': ['2'], 'bgp.length': ['23'], 'bgp.update.withdrawn_routes.length': ['0'], 'bgp.update.path_attributes.length': ['0'] },
  },
  {
    what: 'End-of-RIB IPv6: an empty MP_UNREACH_NLRI',
    fields: { 'bgp.type': ['2'], 'bgp.update.path_attribute.type_code': ['15'], 'bgp.update.path_attribute.mp_unreach_nlri.afi': ['2'], 'bgp.update.path_attribute.length': ['3'] },
  },
  { what: 'ROUTE-REFRESH IPv4', fields: { 'bgp.type': ['5'], 'bgp.route_refresh.afi': ['1'], 'bgp.route_refresh.subtype': ['0'], 'bgp.route_refresh.safi': ['1'] } },
  { what: 'KEEPALIVE after it in the same segment', fields: { 'bgp.type': ['4'] } },
  { what: 'BoRR', fields: { 'bgp.type': ['5'], 'bgp.route_refresh.afi': ['1'], 'bgp.route_refresh.subtype': ['1'] } },
  { what: 'EoRR', fields: { 'bgp.type': ['5'], 'bgp.route_refresh.afi': ['1'], 'bgp.route_refresh.subtype': ['2'] } },
  { what: 'ROUTE-REFRESH IPv6', fields: { 'bgp.type': ['5'], 'bgp.route_refresh.afi': ['2'], 'bgp.route_refresh.subtype': ['0'] } },
  {
    what: 'NOTIFICATION Unsupported Version Number, Data 0004',
    fields: { 'bgp.type': ['3'], 'bgp.notify.major_error': ['2'], 'bgp.notify.minor_error_open': ['1'], 'bgp.notify.minor_data': ['00:04'] },
  },
  { what: 'NOTIFICATION Hold Timer Expired', fields: { 'bgp.type': ['3'], 'bgp.notify.major_error': ['4'], 'bgp.length': ['21'] } },
  {
    what: 'NOTIFICATION Bad Message Length, Data = the Length 4097',
    fields: { 'bgp.type': ['3'], 'bgp.notify.major_error': ['1'], 'bgp.notify.minor_error': ['2'], 'bgp.notify.minor_data': ['10:01'] },
  },
  {
    what: 'NOTIFICATION Administrative Shutdown with a communication (RFC 9003)',
    fields: {
      'bgp.type': ['3'], 'bgp.notify.major_error': ['6'], 'bgp.notify.minor_error_cease': ['2'],
      'bgp.notify.communication_length': [String(Buffer.byteLength(SHUTDOWN_TEXT))], 'bgp.notify.communication': [SHUTDOWN_TEXT],
    },
  },
];

// --- the capture -----------------------------------------------------------------------------------

function capture(): { pcap: Buffer; sent: (readonly [Message, CodecContext, Buffer])[] } {
  const session = new TcpSession();
  const sent: (readonly [Message, CodecContext, Buffer])[] = [];
  for (const seg of SEGMENTS) {
    const wire = seg.messages.map(([m, c]) => {
      const b = encodeMessage(m, c);
      sent.push([m, c, b]);
      return b;
    });
    const payload = Buffer.concat(wire);
    let from = 0;
    for (const at of [...(seg.cutAt ?? []), payload.length]) {
      session.send(seg.fromClient, payload.subarray(from, at));
      from = at;
    }
  }
  return { pcap: session.finish(), sent };
}

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) throw new Error(`tshark could not run (is it installed? CI must install it): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tshark exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Every leaf field of a tshark -T json subtree, values in document order. */
function flatten(node: unknown, out: Fields = {}): Fields {
  if (Array.isArray(node)) {
    for (const n of node) flatten(n, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'string') (out[k] ??= []).push(v);
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) (out[k] ??= []).push(...(v as string[]));
      else flatten(v, out);
    }
  }
  return out;
}

/** The BGP messages of the capture in wire order, one field map each. */
function bgpMessages(json: unknown): Fields[] {
  const out: Fields[] = [];
  if (!Array.isArray(json)) return out;
  for (const pkt of json) {
    const bgp = (pkt as { _source?: { layers?: Record<string, unknown> } })._source?.layers?.['bgp'];
    if (bgp === undefined) continue;
    // With --no-duplicate-keys, a segment carrying several messages has an array of bgp layers.
    for (const layer of Array.isArray(bgp) ? bgp : [bgp]) out.push(flatten(layer));
  }
  return out;
}

t.test('tshark dissects every message wren encodes without complaint, to the values encoded', async (t) => {
  const { pcap, sent } = capture();
  t.equal(sent.length, EXPECTED.length, 'one expectation per message');
  // Our own decoder agrees first: a vector tshark likes but we cannot read back would be a bug too.
  for (const [m, c, b] of sent) t.strictSame(decodeMessage(b, c), m, `own decoder: ${m.type}`);

  const file = join(t.testdir(), 'wren.pcap');
  writeFileSync(file, pcap);
  // Checksums on: they are computed by pcap.ts, and a wrong one would make tshark skip segments.
  const opts = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'bgp.desegment:TRUE', '-d', 'tcp.port==179,bgp'];

  const text = tshark(['-r', file, '-V', ...opts]);
  // WREN_TSHARK_DUMP=/tmp/x keeps the capture (x.pcap) and tshark's view of it (x) for a human.
  const dump = process.env['WREN_TSHARK_DUMP'];
  if (dump !== undefined) {
    writeFileSync(dump, text);
    writeFileSync(`${dump}.pcap`, pcap);
  }
  for (const bad of ['Malformed', 'Exception', '[Expert Info (Error', '[Expert Info (Warning', 'Bad checksum', '[incorrect']) {
    const line = text.split('\n').find((l) => l.includes(bad));
    t.equal(line, undefined, `no "${bad}" in tshark -V output`);
  }

  const json: unknown = JSON.parse(tshark(['-r', file, '-T', 'json', '--no-duplicate-keys', ...opts]));
  const msgs = bgpMessages(json);
  t.equal(msgs.length, sent.length, 'tshark found every message, reassembled and split');
  for (let i = 0; i < EXPECTED.length; i++) {
    const got = msgs[i] ?? {};
    const want = EXPECTED[i]!;
    const picked: Fields = {};
    for (const k of Object.keys(want.fields)) picked[k] = got[k] ?? [];
    t.same(picked, want.fields, want.what);
    t.same(got['bgp.length'], [String(sent[i]?.[2].length)], `${want.what}: length ${sent[i]?.[2].length}`);
  }
});
