// A renderer for the subset of Go's text/template (with Helm's data: .Values, .Release, .Chart)
// that charts/splitdns uses, so the chart is rendered and checked where `helm` is not installed
// (it is in neither Debian's archive nor npm; @ctrl/golang-template has no `{{-` trimming or
// pipelines). Anything outside the subset is an error, never silently passed through:
//   text; {{ PIPELINE }} and {{- ... -}} (whitespace trimming as text/template does it);
//   {{ if PIPELINE }} ... {{ else }} ... {{ end }};
//   PIPELINE: a field path (.Values.a.b, .Release.Namespace, .Chart.Version), a "string", a
//   number, or a call `not X`, `and X Y`, `or X Y`, `eq X Y`, with `| quote` / `| default X`.
// Not covered (helm itself would check them): the rest of text/template and Sprig, `helm lint`,
// Chart.yaml schema, values.schema.json, hooks, and install/upgrade behaviour.

type Value = unknown;
interface Scope { Values: Value; Release: { Name: string; Namespace: string; Service: string }; Chart: { Name: string; Version: string; AppVersion: string } }

type Node = { kind: 'text'; text: string } | { kind: 'out'; expr: string; at: number } | { kind: 'if'; cond: string; then: Node[]; else: Node[]; at: number };

function lex(src: string): ({ kind: 'text'; text: string } | { kind: 'action'; body: string; at: number })[] {
  const out: ({ kind: 'text'; text: string } | { kind: 'action'; body: string; at: number })[] = [];
  let p = 0;
  let trimNext = false;
  while (p < src.length) {
    const open = src.indexOf('{{', p);
    let text = src.substring(p, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) { out.push({ kind: 'text', text }); break; }
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error(`template: unclosed action at offset ${open}`);
    let body = src.substring(open + 2, close);
    if (body.startsWith('- ')) { text = text.replace(/\s+$/, ''); body = body.substring(2); }
    trimNext = body.endsWith(' -');
    if (trimNext) body = body.slice(0, -2);
    out.push({ kind: 'text', text });
    out.push({ kind: 'action', body: body.trim(), at: open });
    p = close + 2;
  }
  return out;
}

function parse(src: string): Node[] {
  const toks = lex(src);
  let i = 0;
  const block = (): { nodes: Node[]; end: 'else' | 'end' | 'eof' } => {
    const nodes: Node[] = [];
    while (i < toks.length) {
      const t = toks[i++];
      if (t.kind === 'text') { if (t.text) nodes.push(t); continue; }
      if (t.body === 'end') return { nodes, end: 'end' };
      if (t.body === 'else') return { nodes, end: 'else' };
      if (t.body.startsWith('if ')) {
        const then = block();
        let els: Node[] = [];
        if (then.end === 'else') { const e = block(); if (e.end !== 'end') throw new Error(`template: if at ${t.at} has no end`); els = e.nodes; }
        else if (then.end !== 'end') throw new Error(`template: if at ${t.at} has no end`);
        nodes.push({ kind: 'if', cond: t.body.substring(3), then: then.nodes, else: els, at: t.at });
        continue;
      }
      if (/^(range|with|define|template|include|block)\b|:=/.test(t.body)) throw new Error(`template: unsupported action {{ ${t.body} }} (extend test/install/helm-template.ts)`);
      nodes.push({ kind: 'out', expr: t.body, at: t.at });
    }
    return { nodes, end: 'eof' };
  };
  const r = block();
  if (r.end !== 'eof') throw new Error(`template: unexpected {{ ${r.end} }}`);
  return r.nodes;
}

const truthy = (v: Value) => !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0));

function tokens(expr: string): string[] {
  return expr.match(/"(?:[^"\\]|\\.)*"|\(|\)|\||[^\s()|]+/g) ?? [];
}

function evaluate(expr: string, scope: Scope): Value {
  const toks = tokens(expr);
  let i = 0;
  const term = (): Value => {
    const t = toks[i++];
    if (t === undefined) throw new Error(`template: incomplete expression ${expr}`);
    if (t === '(') { const v = call(); if (toks[i++] !== ')') throw new Error(`template: missing ) in ${expr}`); return v; }
    if (t.startsWith('"')) return JSON.parse(t);
    if (/^-?\d+$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t.startsWith('.')) {
      let v: Value = scope;
      for (const k of t.substring(1).split('.')) {
        if (v === null || typeof v !== 'object' || !(k in (v as object))) throw new Error(`template: ${t} is not set`);
        v = (v as Record<string, Value>)[k];
      }
      return v;
    }
    throw new Error(`template: unsupported term ${t} in ${expr}`);
  };
  const call = (): Value => {
    const fn = toks[i];
    let v: Value;
    switch (fn) {
      case 'not': i++; v = !truthy(term()); break;
      case 'and': { i++; const a = term(); const b = term(); v = truthy(a) ? b : a; break; }
      case 'or': { i++; const a = term(); const b = term(); v = truthy(a) ? a : b; break; }
      case 'eq': { i++; const a = term(); const b = term(); v = a === b; break; }
      default: v = term();
    }
    while (toks[i] === '|') {
      i++;
      const f = toks[i++];
      if (f === 'quote') v = JSON.stringify(v === undefined || v === null ? '' : String(v));
      else if (f === 'default') { const d = term(); v = truthy(v) ? v : d; }
      else throw new Error(`template: unsupported function ${f} in ${expr}`);
    }
    return v;
  };
  const v = call();
  if (i !== toks.length && toks[i] !== ')') throw new Error(`template: unexpected ${toks[i]} in ${expr}`);
  return v;
}

function run(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'if') out += run(truthy(evaluate(n.cond, scope)) ? n.then : n.else, scope);
    else {
      const v = evaluate(n.expr, scope);
      if (v !== null && typeof v === 'object') throw new Error(`template: {{ ${n.expr} }} is not a scalar`);
      out += v === undefined || v === null ? '' : String(v);
    }
  }
  return out;
}

export function renderTemplate(src: string, scope: Scope): string {
  return run(parse(src), scope);
}

/** Deep merge of values overrides onto the chart's defaults (as `helm --set`/`-f` do for maps). */
export function mergeValues(base: Value, over: Value): Value {
  if (over === null || typeof over !== 'object' || Array.isArray(over) || base === null || typeof base !== 'object' || Array.isArray(base)) return over;
  const out: Record<string, Value> = { ...(base as Record<string, Value>) };
  for (const [k, v] of Object.entries(over as Record<string, Value>)) out[k] = k in out ? mergeValues(out[k], v) : v;
  return out;
}
