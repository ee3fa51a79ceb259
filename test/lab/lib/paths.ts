// Where the lab's binaries are. Most come from Debian packages on PATH; BIRD 1.6 conflicts with the
// bird2 package, so .ci/run unpacks it into <repo>/.cache/bird1 (or WREN_BIRD1_DIR points at it).
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file with wren's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'wren') return dir;
      } catch {
        // not JSON: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the wren repository root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of a program: as given when it contains a slash, else searched on PATH (plus sbin dirs). */
export function which(cmd: string): string | undefined {
  if (cmd.includes('/')) return executable(cmd) ? cmd : undefined;
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, cmd);
    if (executable(p)) return p;
  }
  return undefined;
}

export const FRR_DIR = '/usr/lib/frr';

/** Program names each daemon kind needs, for labAvailable(). */
export type DaemonKind = 'bird2' | 'bird1' | 'gobgp' | 'frr' | 'tshark';

/** The unpacked BIRD 1.6 tree (containing usr/sbin/bird); WREN_BIRD1_DIR wins over the default. */
export function bird1Dir(): string {
  const env = process.env['WREN_BIRD1_DIR'];
  if (env !== undefined && env !== '') return env;
  return join(repoRoot(), '.cache', 'bird1');
}

export interface Bird1Paths {
  readonly bird: string;
  readonly bird6: string;
  readonly birdc: string;
  readonly birdc6: string;
}

/** Paths of the BIRD 1.6 binaries, or an Error that says how to get them. */
export function bird1Paths(): Bird1Paths | Error {
  const dir = bird1Dir();
  const p: Bird1Paths = {
    bird: join(dir, 'usr/sbin/bird'),
    bird6: join(dir, 'usr/sbin/bird6'),
    birdc: join(dir, 'usr/sbin/birdc'),
    birdc6: join(dir, 'usr/sbin/birdc6'),
  };
  const missing = Object.values(p).filter((x) => !executable(x));
  if (missing.length > 0) {
    return new Error(
      `BIRD 1.6 not found (missing ${missing.join(', ')}). Set WREN_BIRD1_DIR to an unpacked bird_1.6 .deb, or run: ` +
        `(cd /tmp && apt-get download bird && dpkg -x bird_1.6*.deb ${dir})`,
    );
  }
  return p;
}

/** The programs a daemon kind needs (absolute paths or PATH names), or an Error. */
export function programsFor(kind: DaemonKind): string[] | Error {
  switch (kind) {
    case 'bird2':
      return ['bird', 'birdc'];
    case 'bird1': {
      const p = bird1Paths();
      return p instanceof Error ? p : Object.values(p);
    }
    case 'gobgp':
      return ['gobgpd', 'gobgp'];
    case 'frr':
      return [join(FRR_DIR, 'bgpd'), join(FRR_DIR, 'zebra'), 'vtysh'];
    case 'tshark':
      return ['tshark', 'dumpcap'];
  }
}
