// A tiny declarative grammar for the YAML config: each `Spec<T>` parses one YAML node into a
// typed value (reporting every problem to a context, never throwing) and describes itself as JSON
// Schema. The grammar in grammar.ts is the single source of truth for key names, types, ranges,
// enums, defaults and documentation: the loader, the unknown-key check, the did-you-mean
// suggestions and contrib/bgpd.schema.json are all derived from it, so they cannot drift.

import { Document, isAlias, isMap, isScalar, isSeq, type Pair } from 'yaml';

export type Path = readonly (string | number)[];

export type Severity = 'error' | 'warning';

/** Where a problem sits: a YAML node with a source range, or a path looked up in the document. */
export type Anchor = { readonly node: unknown; readonly path: Path } | { readonly path: Path };

export interface Ctx {
  /** the document being loaded, to resolve aliases (`*name`) against its anchors */
  readonly doc: Document;
  report(severity: Severity, at: Anchor, message: string): void;
}

export type JsonSchema = { readonly [key: string]: unknown };

export interface Spec<T> {
  parse(node: unknown, path: Path, ctx: Ctx): T | undefined;
  schema(): JsonSchema;
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function deref(node: unknown, ctx: Ctx): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

function describe(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
    if (typeof v === 'number' || typeof v === 'bigint') return `number ${String(v)}`;
    return `${typeof v} ${String(v)}`;
  }
  return 'nothing';
}

function fail(ctx: Ctx, node: unknown, path: Path, message: string): undefined {
  ctx.report('error', { node, path }, `${formatPath(path)}: ${message}`);
  return undefined;
}

/** True for an absent value: a missing key, or an explicit YAML null (`key:` with nothing after it). */
export function isNullish(node: unknown, ctx: Ctx): boolean {
  const n = deref(node, ctx);
  return n === undefined || n === null || (isScalar(n) && n.value === null);
}

// ---------------------------------------------------------------------------------------------
// Scalars

function scalar<T>(
  expected: string,
  pick: (v: unknown) => T | undefined,
  schema: JsonSchema,
  check?: (v: T) => string | undefined,
): Spec<T> {
  return {
    parse(raw, path, ctx) {
      const node = deref(raw, ctx);
      const v = isScalar(node) ? pick(node.value) : undefined;
      if (v === undefined) return fail(ctx, node, path, `expected ${expected}, got ${describe(node)}`);
      const problem = check?.(v);
      return problem === undefined ? v : fail(ctx, node, path, problem);
    },
    schema: () => schema,
  };
}

export interface IntOptions {
  readonly min: number;
  readonly max: number;
  /** overrides the range message, e.g. "hold time must be 0 or 3..65535 seconds" */
  readonly check?: (n: number) => string | undefined;
  readonly schema?: JsonSchema;
}

export function int(o: IntOptions): Spec<number> {
  return scalar(
    'an integer',
    (v) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined),
    o.schema ?? { type: 'integer', minimum: o.min, maximum: o.max },
    (n) => o.check?.(n) ?? (n < o.min || n > o.max ? `${n} is out of range ${o.min}..${o.max}` : undefined),
  );
}

export const bool = (): Spec<boolean> =>
  scalar('true or false', (v) => (typeof v === 'boolean' ? v : undefined), { type: 'boolean' });

export interface StrOptions {
  readonly check?: (s: string) => string | undefined;
  readonly schema?: JsonSchema;
}

export function str(o: StrOptions = {}): Spec<string> {
  return scalar(
    'a string',
    (v) => (typeof v === 'string' ? v : undefined),
    o.schema ?? { type: 'string' },
    (s) => (s === '' ? 'must not be empty' : o.check?.(s)),
  );
}

export function oneOf<const V extends string>(values: readonly V[]): Spec<V> {
  const allowed = values.join(', ');
  return scalar(
    `one of ${allowed}`,
    (v) => (typeof v === 'string' ? v : undefined),
    { enum: [...values] },
    (s) => ((values as readonly string[]).includes(s) ? undefined : `'${s}' is not one of ${allowed}`),
  ) as Spec<V>;
}

/** A string converted by `convert`, which explains itself when the text is unusable. */
export function parsed<T>(
  convert: (s: string) => { ok: true; value: T } | { ok: false; reason: string },
  schema: JsonSchema,
): Spec<T> {
  return {
    parse(raw, path, ctx) {
      const node = deref(raw, ctx);
      if (!isScalar(node) || typeof node.value !== 'string') {
        return fail(ctx, node, path, `expected a string, got ${describe(node)}`);
      }
      const r = convert(node.value);
      return r.ok ? r.value : fail(ctx, node, path, r.reason);
    },
    schema: () => schema,
  };
}

/**
 * A custom scalar: `convert` gets the parsed value and the raw source text (e.g. to read `0660`
 * as octal, which YAML 1.2 would read as decimal 660).
 */
export function custom<T>(
  convert: (value: unknown, source: string | undefined) => { ok: true; value: T } | { ok: false; reason: string },
  schema: JsonSchema,
): Spec<T> {
  return {
    parse(raw, path, ctx) {
      const node = deref(raw, ctx);
      if (!isScalar(node)) return fail(ctx, node, path, `expected a scalar, got ${describe(node)}`);
      const r = convert(node.value, node.source);
      return r.ok ? r.value : fail(ctx, node, path, r.reason);
    },
    schema: () => schema,
  };
}

// ---------------------------------------------------------------------------------------------
// Lists

/**
 * Items that fail to parse come back as `undefined` in place, so later semantic checks can
 * still refer to every item by its index in the file.
 */
export function list<T>(item: Spec<T>, o: { readonly schemaItems?: JsonSchema } = {}): Spec<readonly (T | undefined)[]> {
  return {
    parse(raw, path, ctx) {
      const node = deref(raw, ctx);
      if (!isSeq(node)) return fail(ctx, node, path, `expected a list, got ${describe(node)}`);
      return node.items.map((n, i) => item.parse(n, [...path, i], ctx));
    },
    schema: () => ({ type: 'array', items: o.schemaItems ?? item.schema() }),
  };
}

/** A scalar form or a mapping form of the same thing (mesh nodes: `10.0.0.7` or `{ address: ... }`). */
export function scalarOrMap<A, B>(s: Spec<A>, m: Spec<B>): Spec<A | B> {
  return {
    parse(raw, path, ctx) {
      const node = deref(raw, ctx);
      return isMap(node) ? m.parse(node, path, ctx) : s.parse(node, path, ctx);
    },
    schema: () => ({ oneOf: [s.schema(), m.schema()] }),
  };
}

// ---------------------------------------------------------------------------------------------
// Objects

export interface Field<T, R extends 'required' | 'optional' | 'default'> {
  readonly spec: Spec<T>;
  readonly presence: R;
  readonly doc: string;
  /** The default as it would be written in YAML; parsed through `spec` when the key is absent. */
  readonly default?: unknown;
}

export type AnyField = Field<unknown, 'required' | 'optional' | 'default'>;

export const required = <T>(spec: Spec<T>, doc: string): Field<T, 'required'> => ({ spec, presence: 'required', doc });
export const optional = <T>(spec: Spec<T>, doc: string): Field<T, 'optional'> => ({ spec, presence: 'optional', doc });
export const withDefault = <T>(spec: Spec<T>, dflt: unknown, doc: string): Field<T, 'default'> => ({
  spec,
  presence: 'default',
  doc,
  default: dflt,
});

export type Fields = { readonly [key: string]: AnyField };

export type ObjValue<F extends Fields> = {
  readonly [K in keyof F]: F[K] extends Field<infer T, infer R> ? (R extends 'optional' ? T | undefined : T) : never;
};

/** Every field, each possibly `undefined` when it failed: for top-level checks that must all run. */
export type LenientValue<F extends Fields> = { readonly [K in keyof F]: ObjValue<F>[K] | undefined };

export interface ObjSpec<F extends Fields> extends Spec<ObjValue<F>> {
  readonly fields: F;
  readonly doc: string;
  parseLenient(node: unknown, path: Path, ctx: Ctx): LenientValue<F>;
}

export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

const kebab = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[_\s]+/g, '-').toLowerCase();

/** The known key a typo most likely meant: camelCase/snake_case spellings first (Calico users), then edit distance. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const k = kebab(unknown);
  if (known.includes(k)) return k;
  let best: string | undefined;
  let bestDist = Infinity;
  for (const cand of known) {
    const d = levenshtein(k, cand);
    if (d < bestDist) [best, bestDist] = [cand, d];
  }
  const limit = Math.max(2, Math.floor(Math.max(k.length, best?.length ?? 0) / 2));
  return bestDist <= limit ? best : undefined;
}

const where = (path: Path): string => (path.length === 0 ? 'at top level' : `in ${formatPath(path)}`);

export function obj<const F extends Fields>(doc: string, fields: F): ObjSpec<F> {
  const keys = Object.keys(fields);

  function parseLenient(raw: unknown, path: Path, ctx: Ctx): LenientValue<F> {
    const out: Record<string, unknown> = {};
    const node = isNullish(raw, ctx) ? new Document({}).contents : deref(raw, ctx);
    if (!isMap(node)) {
      fail(ctx, node, path, `expected a mapping, got ${describe(node)}`);
      return out as LenientValue<F>;
    }
    const present = new Map<string, Pair<unknown, unknown>>();
    for (const pair of node.items) {
      const key = deref(pair.key, ctx);
      if (!isScalar(key) || typeof key.value !== 'string') {
        ctx.report('error', { node: key, path }, `keys must be strings ${where(path)}, got ${describe(key)}`);
        continue;
      }
      if (!(key.value in fields)) {
        const hint = suggestKey(key.value, keys);
        ctx.report(
          'error',
          { node: key, path: [...path, key.value] },
          `unknown key '${key.value}' ${where(path)}${hint === undefined ? '' : `; did you mean '${hint}'?`}`,
        );
        continue;
      }
      present.set(key.value, pair);
    }
    for (const k of keys) {
      const f = fields[k];
      if (f === undefined) continue;
      const pair = present.get(k);
      if (pair === undefined || isNullish(pair.value, ctx)) {
        if (f.presence === 'required') {
          ctx.report('error', { node: pair?.key ?? node, path }, `missing required key '${k}' ${where(path)}`);
        } else if (f.presence === 'default') {
          out[k] = f.spec.parse(new Document(f.default).contents, [...path, k], ctx);
        }
        continue;
      }
      out[k] = f.spec.parse(pair.value, [...path, k], ctx);
    }
    return out as LenientValue<F>;
  }

  return {
    fields,
    doc,
    parseLenient,
    parse(raw, path, ctx) {
      const v = parseLenient(raw, path, ctx);
      for (const k of keys) if (fields[k]?.presence !== 'optional' && v[k] === undefined) return undefined;
      return v as ObjValue<F>;
    },
    schema() {
      const properties: Record<string, JsonSchema> = {};
      const req: string[] = [];
      for (const k of keys) {
        const f = fields[k];
        if (f === undefined) continue;
        properties[k] = {
          description: f.doc,
          ...f.spec.schema(),
          ...(f.presence === 'default' ? { default: f.default } : {}),
        };
        if (f.presence === 'required') req.push(k);
      }
      return {
        type: 'object',
        description: doc,
        properties,
        ...(req.length > 0 ? { required: req } : {}),
        additionalProperties: false,
      };
    },
  };
}
