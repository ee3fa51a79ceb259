import t from 'tap';
import { advertiseRule, calicoExport, exportAttrs } from '../../rib/policy.js';
import type { AdvertiseVerdict, ExportPolicy, ExportVerdict, Pool } from '../../rib/policy.js';
import { kernelRouteFor } from '../../rib/kernel-intent.js';
import type { KernelIntentConfig, KernelSource } from '../../rib/kernel-intent.js';
import type { KernelRoute } from '../../rib/kernel-types.js';
import { AttrStore } from '../../rib/attrs.js';
import type { PeerKind } from '../../rib/decision.js';
import type { Prefix } from '../../proto/prefix.js';
import { ip, pfx, seq } from './helpers.js';

const pool = (cidr: string, over: Partial<Pool> = {}): Pool => ({ cidr: pfx(cidr), ipipMode: 'Never', vxlanMode: 'Never', disableBgpExport: false, ...over });

t.test('Calico export policy table (calico.md §1.7, §1.8)', async (t) => {
  const policy: ExportPolicy = {
    pools: [pool('172.18.0.0/16'), pool('10.244.0.0/16', { disableBgpExport: true }), pool('fd00:10::/48')],
    extraExport: [pfx('10.96.0.0/12')],
    exportOutsidePools: false,
  };
  const blocks: Prefix[] = [pfx('172.18.64.0/26'), pfx('fd00:10:0:1::/122')];
  const rows: [string, ExportVerdict][] = [
    ['172.18.64.0/26', 'accept'], // the local block itself
    ['172.18.64.5/32', 'rejectUnderLocalBlock'], // a workload /32 under it
    ['172.18.65.0/26', 'accept'], // another node's block, in a pool
    ['172.18.65.7/32', 'accept'], // a borrowed /32 outside our blocks, in a pool
    ['10.244.1.0/26', 'rejectDisabledPool'],
    ['10.96.0.0/12', 'accept'], // service range (static)
    ['10.96.0.10/32', 'accept'],
    ['192.168.0.0/24', 'rejectNotInPool'],
    ['0.0.0.0/0', 'rejectNotInPool'],
    ['fd00:10:0:1::/122', 'accept'],
    ['fd00:10:0:1::5/128', 'rejectUnderLocalBlock'],
    ['fd00:10:0:2::/122', 'accept'],
    ['fd00:99::/64', 'rejectNotInPool'],
  ];
  for (const [p, v] of rows) t.equal(calicoExport(pfx(p), policy, blocks), v, p);
  t.equal(calicoExport(pfx('192.168.0.0/24'), { ...policy, exportOutsidePools: true }, blocks), 'accept', 'general speaker mode');
});

t.test('iBGP / route reflection advertise table (RFC 4271 §9.2, RFC 4456 §8)', async (t) => {
  type Row = [PeerKind, boolean, 'ibgp' | 'ebgp', boolean, boolean, AdvertiseVerdict];
  const rows: Row[] = [
    // source kind, source client, target kind, target client, reflector -> verdict
    ['ebgp', false, 'ibgp', false, false, 'advertise'],
    ['local', false, 'ibgp', false, false, 'advertise'],
    ['ibgp', false, 'ebgp', false, false, 'advertise'],
    ['ibgp', false, 'ibgp', false, false, 'ibgpToIbgp'],
    ['ibgp', false, 'ibgp', true, false, 'ibgpToIbgp'],
    ['ibgp', true, 'ibgp', true, true, 'reflect'], // client -> client
    ['ibgp', true, 'ibgp', false, true, 'reflect'], // client -> non-client
    ['ibgp', false, 'ibgp', true, true, 'reflect'], // non-client -> client
    ['ibgp', false, 'ibgp', false, true, 'nonClientToNonClient'],
  ];
  for (const [sk, sc, tk, tc, rr, v] of rows) {
    t.equal(advertiseRule({ sourceKind: sk, sourceIsClient: sc, targetKind: tk, targetIsClient: tc, reflector: rr }), v, `${sk}${sc ? '/client' : ''} -> ${tk}${tc ? '/client' : ''}${rr ? ' (RR)' : ''}`);
  }
});

t.test('export attribute rewriting (RFC 4271 §5.1, RFC 4456 §8)', async (t) => {
  const st = new AttrStore();
  const set = st.intern({ origin: 0, asPath: [seq(65001)], localPref: 200, med: 7, originatorId: 9, clusterList: [4], unknown: [{ flags: 0xc0, typeCode: 99, value: new Uint8Array([1]) }, { flags: 0x80, typeCode: 98, value: new Uint8Array([2]) }] }, ip('10.0.0.1'));
  const ebgp = exportAttrs(set, { kind: 'ibgp', routerId: 5 }, { kind: 'ebgp', localAsn: 64512, selfNextHop: ip('10.0.0.254'), nextHopMode: 'auto' }, false, undefined);
  t.same(ebgp.attrs.asPath, [seq(64512, 65001)], 'own AS prepended');
  t.equal(ebgp.attrs.localPref, undefined, 'no LOCAL_PREF to eBGP');
  t.equal(ebgp.attrs.med, undefined, 'learned MED not passed to another AS');
  t.equal(ebgp.attrs.originatorId, undefined);
  t.equal(ebgp.attrs.clusterList, undefined);
  t.equal(ebgp.nextHop, ip('10.0.0.254'), 'next hop self');
  t.same(ebgp.attrs.unknown?.map((u) => [u.typeCode, u.flags]), [[99, 0xe0]], 'transitive unknown kept with Partial; non-transitive dropped');
  const keep = exportAttrs(set, { kind: 'ibgp', routerId: 5 }, { kind: 'ebgp', localAsn: 64512, selfNextHop: ip('10.0.0.254'), nextHopMode: 'keep' }, false, undefined);
  t.equal(keep.nextHop, ip('10.0.0.1'), 'nextHopMode keep');
  const setAsSet = st.intern({ origin: 0, asPath: [{ type: 1, asns: [1, 2] }] }, ip('10.0.0.1'));
  t.same(exportAttrs(setAsSet, { kind: 'ebgp', routerId: 5 }, { kind: 'ebgp', localAsn: 64512, selfNextHop: 1, nextHopMode: 'auto' }, false, undefined).attrs.asPath, [seq(64512), { type: 1, asns: [1, 2] }], 'new SEQUENCE before a SET');
  const plain = st.intern({ origin: 0, asPath: [seq(65001)] }, ip('10.0.0.1'));
  const refl = exportAttrs(plain, { kind: 'ibgp', routerId: 5 }, { kind: 'ibgp', localAsn: 64512, selfNextHop: ip('10.0.0.254'), nextHopMode: 'auto' }, true, ip('244.0.0.1'));
  t.equal(refl.attrs.originatorId, 5, 'ORIGINATOR_ID set to the source router id');
  t.same(refl.attrs.clusterList, [ip('244.0.0.1')], 'cluster id prepended');
  t.equal(refl.attrs.localPref, 100, 'LOCAL_PREF included towards iBGP');
  t.equal(refl.nextHop, ip('10.0.0.1'), 'next hop unchanged when reflecting');
  const refl2 = exportAttrs(set, { kind: 'ibgp', routerId: 5 }, { kind: 'ibgp', localAsn: 64512, selfNextHop: 1, nextHopMode: 'auto' }, true, ip('244.0.0.1'));
  t.equal(refl2.attrs.originatorId, 9, 'existing ORIGINATOR_ID kept');
  t.same(refl2.attrs.clusterList, [ip('244.0.0.1'), 4]);
  const local = st.intern({ origin: 0, asPath: [] }, ip('10.0.0.6'));
  t.equal(exportAttrs(local, { kind: 'local', routerId: 1 }, { kind: 'ibgp', localAsn: 64512, selfNextHop: ip('10.0.0.254'), nextHopMode: 'auto' }, false, undefined).nextHop, ip('10.0.0.254'), 'next hop self for locally originated');
});

t.test('kernel intent table (calico.md §1.7 step 4, §2.1)', async (t) => {
  const cfg: KernelIntentConfig = {
    pools: [
      pool('172.16.0.0/16', { ipipMode: 'Always' }),
      pool('172.17.0.0/16', { ipipMode: 'CrossSubnet' }),
      pool('172.19.0.0/16', { ipipMode: 'Never' }),
      pool('172.20.0.0/16', { vxlanMode: 'Always' }),
      pool('172.21.0.0/16', { vxlanMode: 'CrossSubnet' }),
      pool('fd00:10::/48'),
    ],
    nodeAddress: { address: ip('10.192.0.6'), length: 16 },
    tunnelDevice: 'tunl0',
  };
  const remote = (...nh: (number | string)[]): KernelSource => ({ kind: 'remote', nextHops: nh });
  const rows: [string, string, KernelSource, KernelRoute | null, KernelIntentConfig?][] = [
    ['local block -> blackhole', '172.16.1.0/26', { kind: 'local', block: true }, { kind: 'blackhole', prefix: pfx('172.16.1.0/26') }],
    ['local /32 block -> nothing (CNI route)', '172.16.1.7/32', { kind: 'local', block: true }, null],
    ['local static (service) -> nothing', '10.96.0.0/12', { kind: 'local', block: false }, null],
    ['IPIP Always -> tunl0 onlink', '172.16.2.0/26', remote(ip('10.192.0.7')), { kind: 'unicast', prefix: pfx('172.16.2.0/26'), nextHops: [{ gateway: ip('10.192.0.7'), device: 'tunl0', onlink: true }] }],
    ['CrossSubnet, same subnet -> direct', '172.17.2.0/26', remote(ip('10.192.3.7')), { kind: 'unicast', prefix: pfx('172.17.2.0/26'), nextHops: [{ gateway: ip('10.192.3.7'), onlink: false }] }],
    ['CrossSubnet, same subnet, NIC known -> dev nic', '172.17.2.0/26', remote(ip('10.192.3.7')), { kind: 'unicast', prefix: pfx('172.17.2.0/26'), nextHops: [{ gateway: ip('10.192.3.7'), device: 'eth0', onlink: false }] }, { ...cfg, nicDevice: 'eth0' }],
    ['CrossSubnet, other subnet -> tunl0 onlink', '172.17.2.0/26', remote(ip('10.193.0.7')), { kind: 'unicast', prefix: pfx('172.17.2.0/26'), nextHops: [{ gateway: ip('10.193.0.7'), device: 'tunl0', onlink: true }] }],
    ['CrossSubnet with a /32 node address -> always tunnel', '172.17.2.0/26', remote(ip('10.192.0.7')), { kind: 'unicast', prefix: pfx('172.17.2.0/26'), nextHops: [{ gateway: ip('10.192.0.7'), device: 'tunl0', onlink: true }] }, { ...cfg, nodeAddress: { address: ip('10.192.0.6'), length: 32 } }],
    ['IPIP Never -> via next hop', '172.19.2.0/26', remote(ip('10.192.0.7')), { kind: 'unicast', prefix: pfx('172.19.2.0/26'), nextHops: [{ gateway: ip('10.192.0.7'), onlink: false }] }],
    ['VXLAN Always -> not programmed', '172.20.2.0/26', remote(ip('10.192.0.7')), null],
    ['VXLAN CrossSubnet -> not programmed', '172.21.2.0/26', remote(ip('10.192.0.7')), null],
    ['outside every pool -> via next hop', '0.0.0.0/0', remote(ip('10.192.0.1')), { kind: 'unicast', prefix: pfx('0.0.0.0/0'), nextHops: [{ gateway: ip('10.192.0.1'), onlink: false }] }],
    ['ECMP tunnelled (sorted)', '172.16.2.0/26', remote(ip('10.192.0.9'), ip('10.192.0.7')), { kind: 'unicast', prefix: pfx('172.16.2.0/26'), nextHops: [{ gateway: ip('10.192.0.7'), device: 'tunl0', onlink: true }, { gateway: ip('10.192.0.9'), device: 'tunl0', onlink: true }] }],
    ['ECMP CrossSubnet mixed', '172.17.2.0/26', remote(ip('10.193.0.9'), ip('10.192.0.7')), { kind: 'unicast', prefix: pfx('172.17.2.0/26'), nextHops: [{ gateway: ip('10.192.0.7'), onlink: false }, { gateway: ip('10.193.0.9'), device: 'tunl0', onlink: true }] }],
    ['ECMP direct', '192.168.0.0/24', remote(ip('10.192.0.9'), ip('10.192.0.7')), { kind: 'unicast', prefix: pfx('192.168.0.0/24'), nextHops: [{ gateway: ip('10.192.0.7'), onlink: false }, { gateway: ip('10.192.0.9'), onlink: false }] }],
    ['IPv6 in a pool -> via next hop, no tunnel', 'fd00:10:0:2::/122', remote('fd00::7'), { kind: 'unicast', prefix: pfx('fd00:10:0:2::/122'), nextHops: [{ gateway: 'fd00::7', onlink: false }] }],
    ['IPv6 ECMP', 'fd00:10:0:2::/122', remote('fd00::9', 'fd00::7'), { kind: 'unicast', prefix: pfx('fd00:10:0:2::/122'), nextHops: [{ gateway: 'fd00::7', onlink: false }, { gateway: 'fd00::9', onlink: false }] }],
    ['IPv6 local block -> blackhole', 'fd00:10:0:1::/122', { kind: 'local', block: true }, { kind: 'blackhole', prefix: pfx('fd00:10:0:1::/122') }],
  ];
  for (const [what, p, src, want, c] of rows) t.same(kernelRouteFor(pfx(p), src, c ?? cfg), want, what);
});
