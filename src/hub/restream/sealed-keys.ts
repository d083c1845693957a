/**
 * Restream output keys at rest (issue 16, ADR 0021): a third party's secret (a YouTube or Twitch stream key),
 * so the store holds it sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the cluster secret, or
 * from `restream.secretsKey` when set. A stolen database or backup alone does not give the keys away; the
 * hub unseals one only to hand it to the ingress that publishes the channel. A sealed value is
 * `v1.` + base64url(iv 12 | tag 16 | ciphertext), bound to its output id (additional data), so a sealed key
 * copied onto another output does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface KeySealer {
  seal(outputId: string, key: string): string;
  /** The key, or undefined when the value does not open (another secret, tampered, another output). */
  open(outputId: string, sealed: string): string | undefined;
}

export function createKeySealer(secret: string): KeySealer {
  const key = Buffer.from(hkdfSync('sha256', secret, 'tiercast-restream', 'tiercast:output-keys:v1', 32));
  return {
    seal(outputId, plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(outputId));
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `v1.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
    },
    open(outputId, sealed) {
      if (!sealed.startsWith('v1.')) return undefined;
      const raw = Buffer.from(sealed.slice(3), 'base64url');
      if (raw.length < 29) return undefined;
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        d.setAAD(Buffer.from(outputId));
        d.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
