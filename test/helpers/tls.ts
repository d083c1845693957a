/** Certificates and TLS clients for tests of nodes that serve TLS (self-signed: nothing is verified). */
import { spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';

/** A self-signed certificate for an IP address (subjectAltName), valid for a day. */
export function selfSignedCert(
  dir: string,
  ip: string,
  name = 'tiercast-test',
): { cert: string; key: string } {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=IP:${ip}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}

/** The common name of the certificate a TLS server presents now. */
export function servedCertName(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject?.CN ?? '';
      s.destroy();
      resolve(Array.isArray(cn) ? cn.join(',') : cn);
    });
    s.on('error', reject);
  });
}

/** GET over HTTPS without verifying the certificate. */
export function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
