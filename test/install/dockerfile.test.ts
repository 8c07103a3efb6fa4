// Static checks of the Dockerfile (no Docker engine needed): multi-stage, a pinned Node LTS
// base, production dependencies only in the runtime stage, a non-root numeric user, and the
// entrypoints the manifests in config/ use exist in the image's layout.

import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKustomization } from './render.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Instr { op: string; args: string; line: number }
interface Stage { from: string; name?: string; instrs: Instr[] }

/** Dockerfile instructions (continuation lines joined, comments dropped), split into stages. */
export function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const instrs: Instr[] = [];
  let buf = '', start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === '' || line.startsWith('#'))) return;
    if (!buf) start = i + 1;
    buf += (buf ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const m = /^(\w+)\s+(.*)$/.exec(buf);
      if (m) instrs.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
      buf = '';
    }
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instrs) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2], instrs: [] });
    } else if (stages.length === 0 && ins.op === 'ARG') {
      const [k, v] = ins.args.split('=');
      args.set(k!, v ?? '');
    } else stages.at(-1)?.instrs.push(ins);
  }
  return { args, stages };
}

describe('install: Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const { args, stages } = parseDockerfile(text);
  const final = stages.at(-1)!;
  const resolveImage = (from: string) => from.replace(/^\$\{?(\w+)\}?$/, (_, k: string) => args.get(k) ?? from);

  it('is multi-stage, every stage on the same pinned Node 24 base (full version, not a moving tag)', () => {
    expect(stages.length).to.be.at.least(2);
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    for (const s of stages) {
      if (names.has(s.from)) continue;
      const image = resolveImage(s.from);
      expect(image, `FROM ${s.from}`).to.match(/^node:24\.\d+\.\d+-[a-z0-9-]+(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('builds with npm ci then npm run build', () => {
    const build = stages.find((s) => s.instrs.some((i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args)));
    expect(build, 'a stage runs npm run build').to.not.equal(undefined);
    const runs = build!.instrs.filter((i) => i.op === 'RUN').map((i) => i.args);
    const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r));
    expect(ci, 'npm ci before the build').to.be.greaterThan(-1);
    expect(ci).to.be.lessThan(runs.findIndex((r) => /\bnpm run build\b/.test(r)));
  });

  it('puts only production dependencies in the runtime stage', () => {
    const copies = final.instrs.filter((i) => i.op === 'COPY');
    const nm = copies.find((i) => /node_modules/.test(i.args));
    expect(nm, 'the runtime stage copies node_modules').to.not.equal(undefined);
    const fromStage = /--from=(\S+)/.exec(nm!.args)?.[1];
    const src = fromStage ? stages.find((s) => s.name === fromStage) : final;
    const ci = src!.instrs.filter((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(ci.length, `npm ci in stage ${fromStage}`).to.equal(1);
    expect(ci[0]!.args).to.match(/--omit=dev/);
    expect(ci[0]!.args).to.match(/--ignore-scripts/);
    expect(final.instrs.some((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args)), 'no npm install in the runtime stage').to.equal(false);
    expect(copies.some((i) => /--from=\S+\s+\S*dist\b/.test(i.args)), 'dist/ copied from the build stage').to.equal(true);
  });

  it('runs as a numeric non-root user', () => {
    const users = final.instrs.filter((i) => i.op === 'USER');
    expect(users.length, 'USER in the runtime stage').to.be.at.least(1);
    const [uid, gid] = users.at(-1)!.args.split(':');
    expect(uid, 'numeric, so runAsNonRoot can verify it').to.match(/^\d+$/);
    expect(Number(uid)).to.be.greaterThan(0);
    if (gid !== undefined) expect(Number(gid)).to.be.greaterThan(0);
    const lastUser = final.instrs.lastIndexOf(users.at(-1)!);
    expect(final.instrs.slice(lastUser).some((i) => i.op === 'RUN'), 'nothing runs as root after USER').to.equal(false);
  });

  it('copies only paths that exist and that .dockerignore lets into the context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore[0], '.dockerignore starts by excluding everything').to.equal('**');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    for (const a of allowed) expect(a, 'never node_modules, dist or .git').to.not.match(/^(node_modules|dist|\.git)\b/);
    for (const s of stages) for (const i of s.instrs.filter((x) => x.op === 'COPY' && !/--from=/.test(x.args))) {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, src)), `COPY ${src} (line ${i.line}) exists`).to.equal(true);
        expect(allowed.includes(src.replace(/\/$/, '')), `COPY ${src} (line ${i.line}) is in .dockerignore's allow list`).to.equal(true);
      }
    }
  });

  it('has the splitdns CLI as entrypoint, and the commands config/ runs exist in the image layout', function () {
    this.timeout(60000);
    expect(final.instrs.find((i) => i.op === 'ENTRYPOINT')?.args).to.equal('["node", "/app/bin/splitdns.js"]');
    expect(final.instrs.find((i) => i.op === 'WORKDIR')?.args).to.equal('/app');
    const objs = renderKustomization(join(ROOT, 'config'));
    const containers = objs.filter((o) => o.kind === 'Deployment')
      .flatMap((d) => ((d as unknown as { spec: { template: { spec: { containers: { name: string; command?: string[]; args?: string[] }[] } } } }).spec.template.spec.containers));
    expect(containers.length).to.be.at.least(2);
    for (const c of containers) {
      if (!c.command) continue; // the ENTRYPOINT: the CLI
      expect(c.command[0]).to.equal('node');
      const m = /^\/app\/dist\/(.+)\.js$/.exec(c.command[1] ?? '');
      expect(m, `${c.name}: ${c.command.join(' ')} runs a file of dist/`).to.not.equal(null);
      expect(existsSync(join(ROOT, `${m![1]}.ts`)), `${c.name}: the source of ${c.command[1]}`).to.equal(true);
    }
  });
});
