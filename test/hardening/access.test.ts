// Access to the control sockets: 0660 and owned by `control.socket-group` (the BIRD socket too);
// a user outside the group is refused by the kernel and bgpctl says so (exit 2); a member gets
// in; the read-only socket (0666) answers show commands to anyone and refuses every state-changing
// one; the BIRD socket's `restrict` does the same for birdc.
import t from 'tap';
import net from 'node:net';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { repoRoot } from '../lab/lib/paths.js';
import { LocalWren, ctl } from './lib/wren-proc.js';
import { resolveGid } from '../../src/control/unix-server.js';

const GROUP = 'adm';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function asUser(groups: string | null, args: readonly string[]): Promise<Run> {
  const priv = ['--reuid=nobody', '--regid=nogroup', ...(groups === null ? ['--clear-groups'] : [`--groups=${groups}`])];
  return new Promise((resolve) => {
    execFile('setpriv', [...priv, 'node', join(repoRoot(), 'dist/src/bgpctl.js'), ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** One BIRD-socket conversation: the greeting, then each command's reply up to its final line. */
async function birdTalk(path: string, commands: readonly string[]): Promise<string[]> {
  const s = net.connect({ path });
  let buf = '';
  const replies: string[] = [];
  const finalLine = /^\d{4} /m;
  const next = async (): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const m = finalLine.exec(buf);
      if (m !== null) {
        const end = buf.indexOf('\n', m.index);
        const out = buf.slice(0, end + 1);
        buf = buf.slice(end + 1);
        return out;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no reply from the BIRD socket (have: ${buf})`);
  };
  s.on('data', (d: Buffer) => {
    buf += d.toString();
  });
  await next(); // greeting
  for (const c of commands) {
    s.write(`${c}\n`);
    replies.push(await next());
  }
  s.destroy();
  return replies;
}

t.test('control socket access', async (t) => {
  const wren = new LocalWren([{ address: '127.0.0.3', asn: 65002 }]);
  const ro = join(wren.dir, 'bgpd.rsock');
  const bird = join(wren.dir, 'bird.ctl');
  Object.assign(wren, {
    configObject: ((base: () => Record<string, unknown>) => () => ({ ...base(), control: { socket: wren.socket, 'read-only-socket': ro, 'bird-socket': bird, 'socket-group': GROUP } }))(wren.configObject.bind(wren)),
  });
  t.teardown(() => wren.close());
  await wren.start();
  // The directory must not be what stops an unprivileged user: only the sockets' own modes.
  chmodSync(wren.dir, 0o755);
  const gid = resolveGid(GROUP);
  for (const p of [wren.socket, bird]) {
    const st = statSync(p);
    t.equal(st.mode & 0o777, 0o660, `${p}: mode 0660`);
    t.equal(st.gid, gid, `${p}: group ${GROUP} (${gid})`);
  }
  t.equal(statSync(ro).mode & 0o777, 0o666, 'read-only socket: 0666');

  const outsider = await asUser(null, ['-s', wren.socket, 'show', 'status']);
  t.equal(outsider.code, 2, 'nobody (not in the group): exit 2');
  t.match(outsider.stderr, /EACCES.*permission denied/, `clear message: ${outsider.stderr.trim()}`);
  const member = await asUser(GROUP, ['-s', wren.socket, 'show', 'status']);
  t.equal(member.code, 0, `nobody with group ${GROUP}: allowed (${member.stderr.trim()})`);
  const roShow = await asUser(null, ['-s', ro, 'show', 'neighbors']);
  t.equal(roShow.code, 0, 'read-only socket: show works for anyone');
  const roReload = await asUser(null, ['-s', ro, 'reload']);
  t.not(roReload.code, 0, 'read-only socket: reload refused');
  t.match(roReload.stdout + roReload.stderr, /permission denied.*read-only/, 'with a clear error');

  for (const [command, args] of [
    ['reload', undefined],
    ['neighbor', { address: '127.0.0.3', action: 'disable' }],
    ['neighbor', { address: '127.0.0.3', action: 'enable' }],
    ['neighbor', { address: '127.0.0.3', action: 'reset' }],
    ['log level', { level: 'debug' }],
  ] as const) {
    const r = await ctl(ro, command, args);
    t.equal(r.ok, false, `read-only: ${command} ${JSON.stringify(args ?? {})} refused`);
    t.match(r.error ?? '', /permission denied/);
  }
  for (const c of ['show status', 'show neighbors', 'show routes', 'show kernel']) t.ok((await ctl(ro, c)).ok, `read-only: ${c} answered`);
  const n = (await ctl(wren.socket, 'show neighbor', { address: '127.0.0.3' })).result as { neighbor: { enabled: boolean } };
  t.equal(n.neighbor.enabled, true, 'nothing was changed through the read-only socket');

  const replies = await birdTalk(bird, ['restrict', 'disable Global_127_0_0_3', 'enable Global_127_0_0_3', 'restart Global_127_0_0_3', 'configure', 'down', 'show status']);
  t.match(replies[0] ?? '', /^0016 Access restricted/m, 'BIRD socket: restrict');
  for (const [i, c] of ['disable', 'enable', 'restart', 'configure', 'down'].entries()) t.match(replies[i + 1] ?? '', /^8007 Access denied/m, `after restrict: ${c} denied`);
  t.match(replies[6] ?? '', /^0013 /m, 'after restrict: show status still answered');
  t.ok(wren.running, 'bgpd still running (down was refused)');
});
