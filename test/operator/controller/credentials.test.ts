// `splitdns operator` with no kubeconfig and no in-cluster credentials: one line saying what is
// missing and how to provide it, exit non-zero (it used to retry http://localhost:8080 forever,
// logging stack traces).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function runOperatorCli(env: NodeJS.ProcessEnv, limitMs: number): Promise<{ code: number | null; stderr: string; stdout: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', "import('./operator/cli/main.ts').then((m) => m.main(['operator', '--http-port', '0'])).then((c) => process.exit(c))"], { cwd: ROOT, env });
    let stdout = '', stderr = '', killed = false;
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, limitMs);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr, stdout, killed }); });
  });
}

describe('operator: started without credentials', function () {
  this.timeout(30000);
  it('says in one line what is missing and how to provide it, and exits non-zero', async () => {
    const home = mkdtempSync(join(tmpdir(), 'splitdns-home-'));
    try {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
      const r = await runOperatorCli(env, 20000);
      expect(r.killed, `still running after 20 s; stderr: ${r.stderr.slice(0, 500)}`).to.equal(false);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^splitdns operator: no Kubernetes credentials/);
      for (const how of ['KUBECONFIG', '--kube-api', 'service account']) expect(lines[0]).to.contain(how);
      expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
    } finally { rmSync(home, { recursive: true, force: true }); }
  });
});
