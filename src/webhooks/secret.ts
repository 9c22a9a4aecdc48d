import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Standard Webhooks' form of a signing secret: `whsec_` and the base64 of the key. */
const SECRET_PREFIX = 'whsec_';
/** 24 bytes, as the specification's reference implementations generate. */
const SECRET_BYTES = 24;
const SEAL_VERSION = 'v1';

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** A sealed secret names the key that sealed it by this, so a changed key is told apart from a damaged value. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(`hashtag-archiver webhook key\0${key}`).digest('hex').slice(0, 12);
}

/** The secret cannot be opened: sealed with another key, or damaged. Never retried with the same key. */
export class SealedSecretError extends Error {
  override name = 'SealedSecretError';
}

/**
 * AES-256-GCM under a key derived from `key`: what Postgres holds is useless without it, and
 * GCM's tag refuses a tampered value instead of signing with garbage.
 */
export function sealSecret(secret: string, key: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey(key), iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [SEAL_VERSION, keyFingerprint(key), iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function openSecret(sealed: string, key: string): string {
  const [version, fingerprint, iv, tag, ciphertext] = sealed.split('.');
  if (version !== SEAL_VERSION || !fingerprint || !iv || !tag || !ciphertext) throw new SealedSecretError('the stored secret is not in a form this version reads');
  if (fingerprint !== keyFingerprint(key)) {
    throw new SealedSecretError(
      `the secret was sealed with key ${fingerprint}, but the key now is ${keyFingerprint(key)} (HA_WEBHOOK_SECRET_KEY changed, or Redis lost the generated key); remove the webhook and add it again`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', aesKey(key), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SealedSecretError('the stored secret is damaged; remove the webhook and add it again', { cause: err });
  }
}

function aesKey(key: string): Buffer {
  return createHash('sha256').update(`hashtag-archiver webhook seal\0${key}`).digest();
}
