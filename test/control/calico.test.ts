// calicoctl's view of wren: parse the BIRD socket's `show protocols` exactly as calicoctl does and
// render its table; the result must be the seed cluster's `calicoctl node status` byte for byte.
process.env['TZ'] = 'UTC';
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { BirdSocketServer } from '../../src/control/bird-socket.js';
import { CalicoParseError, parseCalicoProtocols } from '../../src/control/calico-parse.js';
import { calicoFamilySection, renderTablewriter } from '../../src/control/calico-table.js';
import { at, neighbor, readTranscript, seedNode, tempSocket } from './fixtures.js';

const SEED_FILE = join(process.cwd(), '..', 'shared', 'reference', 'seed-cluster.md');

/** The block between "What `calicoctl node status` shows" and the closing fence. */
function seedCalicoctl(): string {
  const md = readFileSync(SEED_FILE, 'utf8');
  const start = md.indexOf('Calico process is running.');
  return md.slice(start, md.indexOf('```', start));
}

/** calicoctl: dial, write `show protocols\n` without reading the greeting, read to `0000`. */
function calicoctlQuery(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    let buf = '';
    s.once('connect', () => s.write('show protocols\n'));
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      if (/(^|\n)0000[^\n]*\n/.test(buf)) {
        s.destroy();
        resolve(buf);
      }
    });
    s.once('error', reject);
  });
}

t.test('the seed node through the BIRD socket gives the seed calicoctl table', async (t) => {
  const b = seedNode({ now: '07:00:00', started: '06:21:40' });
  b.neighborList = [neighbor('10.160.105.7', { sinceMs: at('06:21:43') }), neighbor('10.160.105.8', { sinceMs: at('06:21:44') })];
  const server = await BirdSocketServer.listen({ path: tempSocket('bird.ctl'), backend: b });
  t.teardown(() => server.close());
  const reply = await calicoctlQuery(server.path);
  const v4 = parseCalicoProtocols(reply, 4);
  const out = `Calico process is running.\n\n${calicoFamilySection('IPv4', v4)}\n${calicoFamilySection('IPv6', [])}`;
  t.equal(out, seedCalicoctl());
});

t.test('calicoctl parse of every BIRD 1.6 capture matches calicoctl_parser_emulation.txt', async (t) => {
  const emu = readFileSync(join(process.cwd(), '..', 'shared', 'reference', 'birdc-transcripts', 'calicoctl_parser_emulation.txt'), 'utf8');
  for (const line of emu.split('\n')) {
    const m = /^(bird1_\S+)\s+header-case-insensitive=False -> (.*)$/.exec(line);
    if (m === null) continue;
    const file = m[1] ?? '';
    const reply = readTranscript(file).find((e) => e.command === 'show protocols\n')?.reply ?? '';
    const got = parseCalicoProtocols(reply, 4)
      .map((p) => `${p.peerAddress} ${p.peerType.split(' ')[0] === 'node-to-node' ? 'Mesh' : p.peerType === 'node specific' ? 'Node' : 'Global'} ${p.state} ${p.since} ${p.info}`)
      .join('; ');
    t.equal(got, m[2], file);
  }
  t.throws(() => parseCalicoProtocols(readTranscript('bird2_show.txt').find((e) => e.command === 'show protocols\n')?.reply ?? '', 4), CalicoParseError);
});

t.test('wren BIRD output for non-Established states parses as calicoctl expects', async (t) => {
  const b = seedNode();
  b.neighborList = [
    neighbor('10.160.105.7', { state: 'Active', passive: false, lastError: 'Socket: Connection refused' }),
    neighbor('10.160.105.8', { enabled: false }),
    neighbor('10.160.105.100', { name: 'Global_10_160_105_100', peerType: 'global', state: 'Idle', passive: false, lastError: 'BGP Error: Bad peer AS' }),
  ];
  const server = await BirdSocketServer.listen({ path: tempSocket('bird.ctl'), backend: b });
  t.teardown(() => server.close());
  const rows = parseCalicoProtocols(await calicoctlQuery(server.path), 4);
  t.same(rows, [
    { peerAddress: '10.160.105.7', peerType: 'node-to-node mesh', state: 'start', since: '11:36:38', info: 'Active Socket: Connection refused' },
    // the disabled peer has five fields and is dropped, as calicoctl does
    { peerAddress: '10.160.105.100', peerType: 'global', state: 'start', since: '11:36:38', info: 'Idle BGP Error: Bad peer AS' },
  ]);
  t.equal(
    calicoFamilySection('IPv4', rows),
    'IPv4 BGP status\n' +
      '+----------------+-------------------+-------+----------+--------------------------------+\n' +
      '|  PEER ADDRESS  |     PEER TYPE     | STATE |  SINCE   |              INFO              |\n' +
      '+----------------+-------------------+-------+----------+--------------------------------+\n' +
      '| 10.160.105.7   | node-to-node mesh | start | 11:36:38 | Active Socket: Connection      |\n' +
      '|                |                   |       |          | refused                        |\n' +
      '| 10.160.105.100 | global            | start | 11:36:38 | Idle BGP Error: Bad peer AS    |\n' +
      '+----------------+-------------------+-------+----------+--------------------------------+\n',
  );
});

t.test('tablewriter emulation: wrapping like the tables seen in Calico issues', async (t) => {
  t.equal(
    renderTablewriter(['Info'], [['Idle Socket: Connection closed'], ['Active Socket: Connection reset by peer']]),
    '+--------------------------------+\n|              INFO              |\n+--------------------------------+\n' +
      '| Idle Socket: Connection closed |\n| Active Socket: Connection      |\n| reset by peer                  |\n+--------------------------------+\n',
  );
  t.equal(renderTablewriter(['n'], [['42']]), '+----+\n| N  |\n+----+\n| 42 |\n+----+\n');
});

t.test('calicoctl rejects unexpected lines', async (t) => {
  t.throws(() => parseCalicoProtocols('0001 BIRD ready.\n8000 Too many connections\n', 4), { message: 'unexpected output line from BIRD' });
  t.throws(() => parseCalicoProtocols('2002-Name Proto Table State Since Info\n0000 \n', 4), { message: 'unknown BIRD table output format' });
});
