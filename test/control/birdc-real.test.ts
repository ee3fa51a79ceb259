// The real clients against wren's BIRD socket: Debian's BIRD 1.6 birdc (unpacked into .cache/bird1
// or WREN_BIRD1_DIR; missing binaries FAIL this test) and bird2's birdc/birdcl from PATH.
process.env['TZ'] = 'UTC';
import t from 'tap';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { BirdSocketServer } from '../../src/control/bird-socket.js';
import { bird1Paths, which } from '../lab/lib/paths.js';
import { exchange, seedNode, tempSocket } from './fixtures.js';

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** What birdc prints for a raw reply: codes stripped, continuation space dropped, 0000 lines hidden. */
function rendered(raw: string): string {
  return raw
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (l.startsWith(' ') ? l.slice(1) : /^\d{4}[ -]/.test(l) ? (l.startsWith('0000') ? null : l.slice(5)) : `??? <${l}>`))
    .filter((l): l is string => l !== null)
    .map((l) => `${l}\n`)
    .join('');
}

const b1 = bird1Paths();
const birdc2 = which('/usr/sbin/birdc');
const birdcl2 = which('/usr/sbin/birdcl');

t.test('BIRD 1.6 birdc against wren', async (t) => {
  if (b1 instanceof Error) {
    t.fail(b1.message);
    return;
  }
  accessSync(b1.birdc, constants.X_OK);
  const server = await BirdSocketServer.listen({ path: tempSocket('bird.ctl'), backend: seedNode(), version: '1.6.8' });
  t.teardown(() => server.close());
  const greet = 'BIRD 1.6.8 ready.\n';
  const cases: Array<[string[], string]> = [
    [['show', 'protocols'], exchange('bird1_basic.txt', 'show protocols\n').reply],
    [['show', 'protocols', 'all', 'Mesh_10_160_105_7'], exchange('bird1_basic.txt', 'show protocols all Mesh_10_160_105_7\n').reply],
    [['show', 'status'], exchange('bird1_basic.txt', 'show status\n').reply],
    [['show', 'route'], exchange('bird1_route.txt', 'show route\n').reply],
    [['show', 'route', 'all'], exchange('bird1_route.txt', 'show route all\n').reply],
    [['show', 'route', 'for', '172.18.101.70'], exchange('bird1_route.txt', 'show route for 172.18.101.70\n').reply],
    [['show', 'route', 'count'], exchange('bird1_route.txt', 'show route count\n').reply],
    [['sh', 'p'], exchange('bird1_basic.txt', 'show protocols\n').reply],
    [['sh', 'pro', 'all', 'Mesh_10_160_105_7'], exchange('bird1_basic.txt', 'show protocols all Mesh_10_160_105_7\n').reply],
    [['configure', 'check'], '0002-Reading configuration from /etc/rsbird/n1/bird.cfg\n0020 Configuration OK\n'],
    [['configure'], '0002-Reading configuration from /etc/rsbird/n1/bird.cfg\n0003 Reconfigured\n'],
    [['disable', 'Mesh_10_160_105_8'], '0009-Mesh_10_160_105_8: disabled\n0000 \n'],
    [['enable', 'Mesh_10_160_105_8'], '0011-Mesh_10_160_105_8: enabled\n0000 \n'],
    [['restart', '"Mesh*"'], '0012-Mesh_10_160_105_7: restarted\n Mesh_10_160_105_8: restarted\n0000 \n'],
    [['show', 'protocols', 'nosuch'], '9002 nosuch is not a protocol\n'],
    [['show', 'memory'], '1018-BIRD memory usage\n Routing tables:     35 kB\n Route attributes: 9984  B\n ROA tables:          0  B\n Protocols:          31 kB\n Total:             115 kB\n0000 \n'],
  ];
  for (const [args, raw] of cases) {
    const r = await run(b1.birdc, ['-s', server.path, ...args]);
    t.equal(r.code, 0, `birdc ${args.join(' ')}: exit 0`);
    t.equal(r.stdout, greet + rendered(raw), `birdc ${args.join(' ')}: output`);
  }
  // -v prints raw lines; -r restricts: state changes are refused.
  const v = await run(b1.birdc, ['-s', server.path, '-v', 'show', 'status']);
  t.match(v.stdout, /^0001 BIRD 1\.6\.8 ready\.\n1000-BIRD 1\.6\.8\n1011-Router ID is 10\.160\.105\.6\n/);
  const r = await run(b1.birdc, ['-s', server.path, '-r', 'disable', 'Mesh_10_160_105_7']);
  t.equal(r.stdout, `${greet}Access restricted\nAccess denied\n`);
  // stdin (non-interactive) mode with several commands
  const piped = await new Promise<string>((resolve) => {
    const c = execFile(b1.birdc, ['-s', server.path], { timeout: 10_000 }, (_e, out) => resolve(String(out)));
    c.stdin?.end('show route count\nshow protocols Mesh_10_160_105_7\n');
  });
  t.match(piped, /4 of 4 routes for 4 networks/);
  t.match(piped, /Mesh_10_160_105_7 BGP {6}master {3}up {5}11:36:38 {4}Established/);
});

t.test('BIRD 2 birdc and birdcl: show protocols, show status (liveness probe form)', async (t) => {
  if (birdc2 === undefined || birdcl2 === undefined) {
    t.fail('bird2 birdc/birdcl not installed (apt-get install bird2)');
    return;
  }
  const server = await BirdSocketServer.listen({ path: tempSocket('bird.ctl'), backend: seedNode() });
  t.teardown(() => server.close());
  for (const bin of [birdc2, birdcl2]) {
    const p = await run(bin, ['-s', server.path, 'show', 'protocols']);
    t.equal(p.code, 0, `${bin} show protocols exit`);
    t.equal(p.stdout, 'BIRD v0.3.3+birdv1.6.8 ready.\n' + rendered(exchange('bird1_basic.txt', 'show protocols\n').reply), `${bin} show protocols`);
    const s = await run(bin, ['-s', server.path, 'show', 'status']);
    t.equal(s.code, 0);
    // calico-node -bird-live: stdout must start with "BIRD"
    t.ok(s.stdout.startsWith('BIRD'), `${bin} show status starts with BIRD`);
    t.match(s.stdout, /\nBIRD v0\.3\.3\+birdv1\.6\.8\nRouter ID is 10\.160\.105\.6\n/);
    t.match(s.stdout, /Daemon is up and running\n$/);
  }
});
