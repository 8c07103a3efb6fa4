// Certificates and keys made at test time (never committed): a CA, a serving certificate for
// 127.0.0.1/localhost signed by it, and the RSA key pair that signs ServiceAccount tokens.

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki { caCert: string; caKey: string; serverCert: string; serverKey: string; saPub: string; saKey: string }

function openssl(args: string[], cwd: string): void {
  try { execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] }); }
  catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('envtest: openssl not found on PATH (Debian: apt-get install openssl)', { cause: err });
    throw new Error(`envtest: openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
}

export function makePki(dir: string): Pki {
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=splitdns-envtest-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(p('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(p('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  return { caCert: p('ca.crt'), caKey: p('ca.key'), serverCert: p('server.crt'), serverKey: p('server.key'), saPub: p('sa.pub'), saKey: p('sa.key') };
}
