// The shipped example config and JSON Schema agree with the loader: the example loads cleanly
// (as `bgpd --check` would), documents every key the grammar knows and no other, and
// contrib/bgpd.schema.json is exactly what the grammar generates.
//
// Regenerate the schema after a grammar change: WREN_UPDATE_SCHEMA=1 npx tap test/config/example.test.ts

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { configJsonSchema, formatConfigError, loadConfig, neighbors } from '../../config/index.js';

const EXAMPLE = new URL('../../bgpd.conf.example', import.meta.url);
const SCHEMA = new URL('../../contrib/bgpd.schema.json', import.meta.url);

const text = readFileSync(EXAMPLE, 'utf8');
/** The example with its optional keys switched on: `#~ ` lines uncommented. */
const everything = text.replace(/^(\s*)#~ /gm, '$1');

t.test('the example loads with no errors and no warnings', async (t) => {
  const r = loadConfig(text, 'bgpd.conf.example');
  t.same(r.ok ? [] : r.errors.map(formatConfigError), []);
  t.same(r.warnings.map(formatConfigError), []);
  if (!r.ok) return;
  // It is node us-test00 of the seed cluster (seed-cluster.md).
  t.match(r.config, {
    asn: 64512,
    routerId: '10.160.105.6',
    nodeAddress: { address: '10.160.105.6', prefixLength: 24, network: '10.160.105.0/24' },
    blocks: [{ cidr: '172.18.64.0/26' }],
    pools: [{ cidr: { cidr: '172.18.64.0/18' }, ipipMode: 'Always', vxlanMode: 'Never', disableBgpExport: false }],
    control: { birdSocket: '/var/run/calico/bird.ctl' },
    kernel: { protocol: 12, tunnelDevice: 'tunl0', table: 254 },
  });
  t.same(
    neighbors(r.config).map((n) => [n.name, n.peerType, n.passive]),
    [
      ['Mesh_10_160_105_7', 'node-to-node mesh', true],
      ['Mesh_10_160_105_8', 'node-to-node mesh', true],
    ],
  );
});

t.test('with every optional key switched on, it still loads cleanly', async (t) => {
  const r = loadConfig(everything, 'bgpd.conf.example');
  t.same(r.ok ? [] : r.errors.map(formatConfigError), []);
  t.same(r.warnings.map(formatConfigError), []);
});

/** Dotted key paths of a YAML document; list items are `[]`. */
function yamlKeys(node: unknown, prefix: string, out: Set<string>): Set<string> {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '?';
      const p = prefix === '' ? k : `${prefix}.${k}`;
      out.add(p);
      yamlKeys(pair.value, p, out);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) yamlKeys(item, `${prefix}[]`, out);
  }
  return out;
}

type Schema = { properties?: Record<string, Schema>; items?: Schema; oneOf?: Schema[] };

/** Dotted key paths a JSON Schema allows, in the same notation. */
function schemaKeys(s: Schema, prefix: string, out: Set<string>): Set<string> {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    out.add(p);
    schemaKeys(sub, p, out);
  }
  if (s.items !== undefined) schemaKeys(s.items, `${prefix}[]`, out);
  for (const alt of s.oneOf ?? []) schemaKeys(alt, prefix, out);
  return out;
}

t.test('the example documents exactly the keys the loader knows', async (t) => {
  const inExample = [...yamlKeys(parseDocument(everything).contents, '', new Set())].sort();
  const inGrammar = [...schemaKeys(configJsonSchema() as Schema, '', new Set())].sort();
  t.same(inExample, inGrammar);
});

t.test('contrib/bgpd.schema.json is generated from the grammar', async (t) => {
  const generated = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (process.env['WREN_UPDATE_SCHEMA'] === '1') writeFileSync(SCHEMA, generated);
  t.equal(readFileSync(SCHEMA, 'utf8'), generated, 'regenerate with WREN_UPDATE_SCHEMA=1');
  const schema = JSON.parse(generated) as Record<string, unknown>;
  t.equal(schema['$schema'], 'http://json-schema.org/draft-07/schema#');
  t.equal(schema['additionalProperties'], false, 'unknown keys are errors in the editor too');
});
