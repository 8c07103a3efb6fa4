// Offline validation of our custom resources against the CRDs in crds/: the openAPIV3Schema
// with ajv (defaults applied, as the API server does), then the CRD's own CEL rules
// (x-kubernetes-validations) with @marcbachmann/cel-js, so `splitdns validate` gives the
// messages `kubectl apply` gives. Transition rules (those using oldSelf) need the stored object
// and are skipped offline.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from '@marcbachmann/cel-js';
import type { ParseResult } from '@marcbachmann/cel-js';
import { parseAllDocuments } from 'yaml';

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

type Schema = Record<string, unknown>;
interface Rule { rule: string; message?: string }

export interface CrdValidator {
  /** Validates (and defaults, in place) one object of the kind; returns kubectl-style messages. */
  validate(obj: Record<string, unknown>): string[];
}

/** Finds crds/ from source (operator/local) and from the build (dist/operator/local). */
export function findCrdDir(): string {
  for (const rel of ['../../crds/', '../../../crds/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p + 'dnszone.yaml')) return p;
  }
  throw new Error('cannot find the crds/ directory next to the splitdns package');
}

function schemaOf(file: string): { kind: string; scope: string; schema: Schema } {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Schema).filter(Boolean);
  const crd = docs.find((d) => d.kind === 'CustomResourceDefinition') as { spec: { names: { kind: string }; scope: string; versions: { schema: { openAPIV3Schema: Schema } }[] } };
  return { kind: crd.spec.names.kind, scope: crd.spec.scope, schema: crd.spec.versions[0].schema.openAPIV3Schema };
}

/**
 * Each rule parsed once, then evaluated per value as cel-js's own evaluate() does (parse() is its
 * documented way to evaluate one expression many times; `self` is dynamic, so no type is fixed by
 * the first value). A zone's per-record rules were parsed once per record: a third of the time
 * `splitdns serve` took to validate a zone of 1,000 records.
 */
const programs = new Map<string, ParseResult>();

function evaluate(rule: string, context: Record<string, unknown>): unknown {
  let program = programs.get(rule);
  if (program === undefined) programs.set(rule, (program = parse(rule)));
  return program(context);
}

/** Drops the Kubernetes extensions ajv does not know, keeping the schema otherwise intact. */
function forAjv(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(forAjv);
  if (s === null || typeof s !== 'object') return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s as Schema)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' || k === 'patternProperties') {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, forAjv(ps)]));
    } else out[k] = forAjv(v);
  }
  if (out.format === 'int64' || out.format === 'int32') delete out.format;
  // kubectl's strict field validation: a field the schema does not know is an error.
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function path(p: string): string {
  return p.replace(/^\//, '').split('/').filter(Boolean).map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`)).join('').replace(/^\./, '');
}

/** What a schema pattern asks for, in words (a regular expression is no message for a person). */
const PATTERN_WORDS: [RegExp, string][] = [
  [/^\^\(\[a-zA-Z0-9_\]\(\[-a-zA-Z0-9_\]\{0,61\}/, "must be a DNS name: dot-separated labels of up to 63 letters, digits, '-' or '_', not starting or ending with '-'"],
  [/^\^\(\\\.\|/, "must be a DNS name (labels of up to 63 letters, digits, '-' or '_', separated by dots) or \".\" for the root"],
  [/\(ms\|s\|m\)\$$/, 'must be a duration: a whole number followed by ms, s or m, e.g. 500ms, 2s or 1m'],
  [/^\^\(\[a-z0-9\]\(\[-a-z0-9\]\*\[a-z0-9\]\)\?\(\\\./, 'must be a qualified name such as example.com/Ready or Ready'],
  [/^\^\[A-Za-z\]\(\[A-Za-z0-9_,:\]/, 'must be a CamelCase reason such as InvalidSpec'],
];
const FORMAT_WORDS: Record<string, string> = {
  ipv4: 'must be an IPv4 address: four numbers from 0 to 255 separated by dots, e.g. 192.0.2.10',
  ipv6: 'must be an IPv6 address, e.g. 2001:db8::10',
  'date-time': 'must be an RFC 3339 date-time, e.g. 2024-01-02T03:04:05Z',
};

/**
 * A value as a message shows it: as JSON, except a long list or object, which the apiserver
 * too names by its type ("array", "object") rather than printing a 256-record list in a message.
 */
const shown = (v: unknown): string => {
  const json = JSON.stringify(v) ?? String(v);
  return typeof v === 'object' && v !== null && json.length > 100 ? (Array.isArray(v) ? '"array"' : '"object"') : json;
};

function ajvMessage(e: ErrorObject): string {
  const at = path(e.instancePath) || '<root>';
  switch (e.keyword) {
    case 'required': return `${at ? at + '.' : ''}${(e.params as { missingProperty: string }).missingProperty}: Required value`.replace(/^<root>\./, '');
    case 'enum': return `${at}: Unsupported value: ${shown(e.data)}: supported values: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'additionalProperties': return `${at}: unknown field "${at === '<root>' ? '' : at + '.'}${(e.params as { additionalProperty: string }).additionalProperty}"`;
    // The apiserver's words for a list over its maxItems (field.TooMany).
    case 'maxItems': return `${at}: Too many: ${Array.isArray(e.data) ? e.data.length : '?'}: must have at most ${(e.params as { limit: number }).limit} items`;
    case 'anyOf': return `${at}: Invalid value: ${shown(e.data)}: must be an IPv4 or IPv6 address`;
    case 'format': return `${at}: Invalid value: ${shown(e.data)}: ${FORMAT_WORDS[(e.params as { format: string }).format] ?? e.message}`;
    case 'pattern': {
      const pattern = (e.params as { pattern: string }).pattern;
      const words = PATTERN_WORDS.find(([re]) => re.test(pattern))?.[1];
      return `${at}: Invalid value: ${shown(e.data)}: ${words ?? `must match the pattern ${pattern}`}`;
    }
    default: return `${at}: Invalid value: ${shown(e.data)}: ${e.message ?? 'is invalid'}`;
  }
}

/** Evaluates x-kubernetes-validations over the value, depth first. */
function checkRules(schema: Schema | undefined, value: unknown, at: string, out: string[]): void {
  if (schema === undefined || value === undefined || value === null) return;
  const rules = schema['x-kubernetes-validations'] as Rule[] | undefined;
  for (const r of rules ?? []) {
    if (/\boldSelf\b/.test(r.rule)) continue;
    let ok: unknown;
    try { ok = evaluate(r.rule, { self: value }); } catch (err) { ok = false; out.push(`${at || '<root>'}: Invalid value: rule ${JSON.stringify(r.rule)} could not be evaluated: ${(err as Error).message}`); continue; }
    if (ok !== true) out.push(`${at || '<root>'}: Invalid value: "${Array.isArray(value) ? 'array' : typeof value}": ${r.message ?? `failed rule: ${r.rule}`}`);
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkRules(schema.items as Schema | undefined, v, `${at}[${i}]`, out));
  } else if (typeof value === 'object') {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(value as Schema)) {
      const sub = props[k] ?? (typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Schema) : undefined);
      checkRules(sub, v, at ? `${at}.${k}` : k, out);
    }
  }
}

/**
 * What the API server refuses when a CRD is installed: a schema `default` that fails the CEL
 * rules (x-kubernetes-validations) of its node or the nodes below it. The default is checked as
 * written, without the defaults of the fields inside it filled in, as the API server does: a
 * rule reading a field the default leaves out fails with "no such key". Messages name the field
 * path the API server names, e.g. spec.validation.openAPIV3Schema.properties[spec].properties[cache].default.
 */
export function checkCrdDefaults(crd: Record<string, unknown>): string[] {
  const versions = ((crd.spec as Schema | undefined)?.versions ?? []) as { schema?: { openAPIV3Schema?: Schema } }[];
  const out: string[] = [];
  const walk = (node: Schema, at: string) => {
    if (node.default !== undefined) {
      const found: string[] = [];
      ruleFailures(node, node.default, found);
      for (const f of found) out.push(`${at}.default: Invalid value: "${kindOf(node.default)}": ${f}`);
    }
    for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) walk(v, `${at}.properties[${k}]`);
    if (node.items && typeof node.items === 'object') walk(node.items as Schema, `${at}.items`);
    if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties as Schema, `${at}.additionalProperties`);
  };
  versions.forEach((v, i) => {
    const root = v.schema?.openAPIV3Schema;
    if (root) walk(root, versions.length === 1 ? 'spec.validation.openAPIV3Schema' : `spec.versions[${i}].schema.openAPIV3Schema`);
  });
  return out;
}

const kindOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** The rule failures for a value under a schema node and its children, in the API server's words. */
function ruleFailures(schema: Schema | undefined, value: unknown, out: string[]): void {
  if (schema === undefined || value === undefined || value === null) return;
  for (const r of (schema['x-kubernetes-validations'] ?? []) as Rule[]) {
    if (/\boldSelf\b/.test(r.rule)) continue;
    const what = r.message ?? `failed rule: ${r.rule}`;
    try {
      if (evaluate(r.rule, { self: value }) !== true) out.push(what);
    } catch (err) {
      const first = (err as Error).message.split('\n')[0]!.trim();
      out.push(`${first.charAt(0).toLowerCase()}${first.slice(1)} evaluating rule: ${what}`);
    }
  }
  if (Array.isArray(value)) for (const v of value) ruleFailures(schema.items as Schema | undefined, v, out);
  else if (typeof value === 'object') {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(value as Schema)) ruleFailures(props[k], v, out);
  }
}

/** The CRD file of each kind (each file's own kind is checked when it is read). */
const CRD_FILES: Record<string, string> = { DNSZone: 'dnszone.yaml', DNSForwarder: 'dnsforwarder.yaml', StaticHost: 'statichost.yaml' };

/**
 * Validators for DNSZone, DNSForwarder and StaticHost, by kind. Each kind's CRD is read and its
 * schema compiled on the kind's first use (its scope or a validation): reading the three CRDs
 * and compiling them with ajv took about half a second at every `splitdns serve` and
 * `validate`, also for manifests with none of these kinds (issue 14).
 */
export function loadCrdValidators(dir = findCrdDir()): Map<string, CrdValidator & { scope: string }> {
  let ajv: Ajv | undefined;
  const compiler = (): Ajv => {
    if (ajv !== undefined) return ajv;
    ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, verbose: true });
    (addFormats as unknown as (a: Ajv, f: string[]) => void)(ajv, ['ipv4', 'ipv6', 'date-time']);
    return ajv;
  };
  const out = new Map<string, CrdValidator & { scope: string }>();
  for (const [kind, file] of Object.entries(CRD_FILES)) {
    let crd: { scope: string; schema: Schema; check?: ValidateFunction } | undefined;
    const load = () => {
      if (crd !== undefined) return crd;
      const read = schemaOf(dir + file);
      if (read.kind !== kind) throw new Error(`${dir + file}: a CRD of kind ${read.kind}, not ${kind}`);
      return (crd = { scope: read.scope, schema: read.schema });
    };
    out.set(kind, {
      get scope() { return load().scope; },
      validate(obj) {
        const c = load();
        const check = (c.check ??= compiler().compile(forAjv(c.schema) as Schema));
        const errors: string[] = [];
        if (!check(obj)) for (const e of check.errors ?? []) errors.push(ajvMessage(e));
        if (errors.length === 0) checkRules(c.schema, obj, '', errors);
        return [...new Set(errors)];
      },
    });
  }
  return out;
}
