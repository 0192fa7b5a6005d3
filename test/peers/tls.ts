/**
 * A throwaway self-signed certificate for wss:// interop (CN and SAN for
 * localhost and 127.0.0.1), made with the openssl CLI at test time. PEM
 * buffers for Node peers, files for python.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  keyFile: string;
  certFile: string;
  remove(): void;
}

/** The certificate, or the reason there is none (the wss suite then skips). */
export function makeCertificate(): TlsMaterial | string {
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-peers-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore', timeout: 10_000 },
    );
    return {
      key: readFileSync(keyFile),
      cert: readFileSync(certFile),
      keyFile,
      certFile,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `openssl could not make a certificate (${(error as Error).message})`;
  }
}
