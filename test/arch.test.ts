// The boundary rule of ARCHITECTURE.md: proto/, fsm/, rib/ and config/ are pure. They take inputs
// and return values; every socket, file, timer, netlink call and log line lives in src/.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const PURE_DIRS = ['proto', 'fsm', 'rib', 'config'] as const;

// Node built-ins a pure module may name (types and pure data helpers only).
const ALLOWED_NODE = new Set(['buffer']);
const FORBIDDEN_PACKAGES = new Set(['netlink', 'pino']);
// config/ parses YAML and addresses; nothing else may reach outside proto/ and itself.
const ALLOWED_PACKAGES: Record<string, ReadonlySet<string>> = {
  proto: new Set(),
  fsm: new Set(),
  rib: new Set(),
  config: new Set(['yaml', 'ip-address']),
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

// Comments may mention anything ("the process", "setTimeout is the driver's job"); code may not.
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function violations(dir: (typeof PURE_DIRS)[number], file: string, source: string): string[] {
  const found: string[] = [];
  const text = stripComments(source);
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? '';
    const where = `${relative(root, file)}: imports '${spec}'`;
    if (spec.startsWith('.')) {
      // Relative imports may stay inside the pure layer; src/ and test/ are off limits.
      const target = relative(root, join(file, '..', spec));
      const top = target.split(/[\\/]/)[0] ?? '';
      if (!(PURE_DIRS as readonly string[]).includes(top)) found.push(`${where} (outside the pure modules)`);
      if (dir === 'proto' && top !== 'proto') found.push(`${where} (proto/ depends on nothing)`);
      continue;
    }
    const name = spec.replace(/^node:/, '');
    if (spec.startsWith('node:') || ALLOWED_NODE.has(name) || isBuiltin(name)) {
      if (!ALLOWED_NODE.has(name)) found.push(`${where} (Node built-in with I/O or time)`);
      continue;
    }
    const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
    if (FORBIDDEN_PACKAGES.has(pkg) || !ALLOWED_PACKAGES[dir]!.has(pkg)) found.push(`${where} (package not allowed in ${dir}/)`);
  }
  // Globals that reach the outside world without an import.
  for (const g of ['setTimeout(', 'setInterval(', 'setImmediate(', 'Date.now(', 'process.', 'performance.now(']) {
    if (text.includes(g)) found.push(`${relative(root, file)}: uses ${g.replace('(', '')} (time and process state come in as arguments)`);
  }
  return found;
}

const BUILTINS = new Set(['fs', 'net', 'dgram', 'child_process', 'timers', 'os', 'http', 'https', 'tls', 'dns', 'worker_threads', 'cluster', 'readline', 'perf_hooks', 'process', 'path', 'url', 'crypto', 'util', 'events', 'stream', 'zlib', 'fs/promises', 'timers/promises']);
function isBuiltin(name: string): boolean {
  return BUILTINS.has(name);
}

t.test('the checker itself catches each kind of violation', async (t) => {
  const f = join(root, 'rib', 'x.ts');
  t.same(violations('rib', f, `import { x } from './y.js';`), []);
  t.same(violations('rib', f, `import type { P } from '../proto/types.js';`), []);
  t.equal(violations('rib', f, `import net from 'node:net';`).length, 1);
  t.equal(violations('rib', f, `import { readFile } from 'fs/promises';`).length, 1);
  t.equal(violations('rib', f, `import pino from 'pino';`).length, 1);
  t.equal(violations('rib', f, `import { x } from '../src/daemon.js';`).length, 1);
  t.equal(violations('rib', f, `const t = setTimeout(() => 0, 1);`).length, 1);
  t.equal(violations('proto', join(root, 'proto', 'x.ts'), `import { y } from '../rib/y.js';`).length, 1);
  t.same(violations('config', join(root, 'config', 'x.ts'), `import { parseDocument } from 'yaml';`), []);
  t.same(violations('rib', f, `/** the decision process. */\n// setTimeout( is the driver's job\nconst x = 1;`), [], 'comments are not code');
  t.equal(violations('rib', f, `import { parseDocument } from 'yaml';`).length, 1);
});

for (const dir of PURE_DIRS) {
  t.test(`${dir}/ does no I/O`, async (t) => {
    const files = tsFiles(join(root, dir));
    t.ok(files.length > 0, `${dir}/ has TypeScript files`);
    const all = files.flatMap((f) => violations(dir, f, readFileSync(f, 'utf8')));
    t.same(all, [], `no I/O imports or globals in ${dir}/`);
  });
}
