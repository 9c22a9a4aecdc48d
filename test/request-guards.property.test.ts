import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostAllowed } from '../src/server/allowed-hosts.js';
import { safeNext } from '../src/server/auth.js';
import { crossOriginRefusal } from '../src/server/cross-origin.js';

const OWN = 'http://127.0.0.1:3000';

describe('safeNext', () => {
  it('whatever it is given, the browser stays on this origin', () => {
    // Strings built from the characters redirect payloads are made of, plus anything at all.
    const piece = fc.constantFrom('/', '\\', '.', '..', '%2F', '%5C', '%09', '\t', '\n', '\r', ' ', '@', ':', '?', '#', 'evil.example', 'http:', 'https:', '\u3000', '\u2028');
    const payload = fc.oneof(fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')), fc.string({ unit: 'binary' }));
    fc.assert(
      fc.property(payload, (next) => {
        const location = safeNext(next, OWN);
        expect(location).toMatch(/^\/(?![/\\])/);
        expect(new URL(location, OWN).origin).toBe(OWN);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('crossOriginRefusal', () => {
  const methods = fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE');
  const origins = fc.option(fc.constantFrom(OWN, 'http://127.0.0.1:3001', 'http://localhost:3000', 'https://127.0.0.1:3000', 'null', 'http://evil.example', 'HTTP://127.0.0.1:3000'), { nil: undefined });
  const sites = fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'), { nil: undefined });

  it('lets reads through, and refuses a write exactly when a header says another origin made it', () => {
    fc.assert(
      fc.property(methods, origins, sites, (method, origin, secFetchSite) => {
        const refusal = crossOriginRefusal({ method, origin, secFetchSite, ownOrigin: OWN });
        const foreignOrigin = origin !== undefined && origin.toLowerCase() !== OWN;
        const foreignSite = secFetchSite === 'same-site' || secFetchSite === 'cross-site';
        const write = !['GET', 'HEAD', 'OPTIONS'].includes(method);
        expect(refusal !== null).toBe(write && (foreignOrigin || foreignSite));
      }),
    );
  });
});

describe('hostAllowed', () => {
  const allowed = { listenHost: 'box.lan', extra: ['dash.example.com', '.internal.example'] };

  it('answers IP literals, localhost names, the listen host and the configured names only', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '[::1]', '192.168.1.5', 'localhost', 'LocalHost.', 'a.localhost', 'box.lan', 'dash.example.com', 'x.internal.example']) {
      expect({ host, ok: hostAllowed(host, allowed) }).toEqual({ host, ok: true });
    }
    for (const host of ['', 'evil.example', 'localhost.evil.example', 'internal.example', 'dash.example.com.evil.example', 'evilinternal.example', '127.0.0.1.nip.io']) {
      expect({ host, ok: hostAllowed(host, allowed) }).toEqual({ host, ok: false });
    }
  });
});
