import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * scripts/services.sh where newcomers clone: a checkout its servers' user cannot reach, a second
 * checkout beside a running one, a normal user with the binaries on PATH. Each case runs the real
 * script on a copy of it (the script needs nothing else of the checkout) and connects to both
 * servers it started. Every server is native (no Docker engine here) and purged afterwards.
 */
const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'services.sh');
const APT_LIB = join(import.meta.dirname, '..', 'scripts', 'lib', 'apt.sh');
const isRoot = process.getuid?.() === 0;
/** A throwaway account for the not-root case (root creates it; anyone else is already not root). */
const PLAIN_USER = 'ha-services-test';

interface Checkout {
  root: string;
  /** Runs services.sh in this checkout, as `user` when given (root only), seeing `path` as its PATH. */
  services(command: string, options?: { user?: string; path?: string }): Promise<string>;
  env(): Promise<{ DATABASE_URL: string; REDIS_URL: string }>;
}

const made: { checkout: Checkout; user?: string }[] = [];

/**
 * A checkout owned by a normal user, and that user: as root, a throwaway account made for it;
 * otherwise whoever runs the tests (undefined: no runuser needed).
 */
async function plainUserCheckout(prefix: string): Promise<{ checkout: Checkout; user?: string }> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  const c = await checkout(parent);
  if (!isRoot) return { checkout: c };
  await run('bash', ['-c', `id -u ${PLAIN_USER} >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin ${PLAIN_USER}`]);
  const uid = Number((await run('id', ['-u', PLAIN_USER])).stdout.trim());
  await chmod(parent, 0o755);
  for (const dir of [c.root, join(c.root, 'scripts'), join(c.root, 'scripts', 'lib')]) await chown(dir, uid, uid);
  return { checkout: c, user: PLAIN_USER };
}

async function checkout(parent: string): Promise<Checkout> {
  const root = join(parent, 'hashtag-archiver');
  await mkdir(join(root, 'scripts', 'lib'), { recursive: true });
  await copyFile(SCRIPT, join(root, 'scripts', 'services.sh'));
  await copyFile(APT_LIB, join(root, 'scripts', 'lib', 'apt.sh'));
  const self: Checkout = {
    root,
    async services(command, options = {}) {
      const script = ['env', '-u', 'HA_PG_PORT', '-u', 'HA_REDIS_PORT', `PATH=${options.path ?? process.env.PATH}`, 'HA_SERVICES_BACKEND=native', 'bash', 'scripts/services.sh', command];
      const argv = options.user ? ['runuser', '-u', options.user, '--', ...script] : script;
      const { stdout } = await run(argv[0]!, argv.slice(1), { cwd: root, timeout: 120_000 });
      return stdout;
    },
    async env() {
      const text = await readFile(join(root, '.services', 'env'), 'utf8');
      const pairs = Object.fromEntries(text.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
      return { DATABASE_URL: pairs.DATABASE_URL!, REDIS_URL: pairs.REDIS_URL! };
    },
  };
  return self;
}

/** A real round trip to both servers: a row written and read back, a key set and read back. */
async function roundTrip(urls: { DATABASE_URL: string; REDIS_URL: string }, value: string): Promise<{ pg: string; redis: string | null }> {
  const client = new pg.Client({ connectionString: urls.DATABASE_URL });
  const redis = new Redis(urls.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.query('CREATE TABLE IF NOT EXISTS kept (value text)');
    await client.query('INSERT INTO kept VALUES ($1)', [value]);
    const { rows } = await client.query<{ value: string }>('SELECT value FROM kept ORDER BY value LIMIT 1');
    await redis.connect();
    await redis.set('kept', value);
    return { pg: rows[0]!.value, redis: await redis.get('kept') };
  } finally {
    await client.end();
    redis.disconnect();
  }
}

async function readBack(urls: { DATABASE_URL: string; REDIS_URL: string }): Promise<{ pg: string[]; redis: string | null }> {
  const client = new pg.Client({ connectionString: urls.DATABASE_URL });
  const redis = new Redis(urls.REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const { rows } = await client.query<{ value: string }>('SELECT value FROM kept');
    return { pg: rows.map((row) => row.value), redis: await redis.get('kept') };
  } finally {
    await client.end();
    redis.disconnect();
  }
}

afterAll(async () => {
  for (const { checkout: c, user } of made.reverse()) {
    await c.services('purge', { user }).catch(() => undefined);
    await rm(c.root, { recursive: true, force: true });
  }
});

describe('services.sh where newcomers clone', () => {
  it.runIf(isRoot)('keeps the data outside a checkout under a 0700 folder, finds it again after down and up, and purge removes it', async () => {
    const home = join(await mkdtemp(join(tmpdir(), 'ha-private-')), 'home');
    await mkdir(home, { mode: 0o700 });
    const c = await checkout(home);
    made.push({ checkout: c });

    const up = await c.services('up');
    expect(up).toContain('cannot reach');
    const status = await c.services('status');
    const dataDir = /^data: (.+)$/m.exec(status)?.[1];
    expect(dataDir).toMatch(/^\/var\/lib\/hashtag-archiver\//);
    expect((await stat(join(dataDir!, 'pg', 'data'))).isDirectory()).toBe(true);
    expect(await roundTrip(await c.env(), 'before-down')).toEqual({ pg: 'before-down', redis: 'before-down' });

    await c.services('down');
    await c.services('up');
    expect(await readBack(await c.env())).toEqual({ pg: ['before-down'], redis: 'before-down' });

    await c.services('purge');
    expect(existsSync(dataDir!)).toBe(false);
    expect(existsSync(join(c.root, '.services'))).toBe(false);
  });

  it('gives a second checkout free ports of its own, keeps them in .services/env and reuses them', async () => {
    const first = await checkout(await mkdtemp(join(tmpdir(), 'ha-first-')));
    const second = await checkout(await mkdtemp(join(tmpdir(), 'ha-second-')));
    made.push({ checkout: first }, { checkout: second });
    await first.services('up');
    const secondUp = await second.services('up');
    const [a, b] = [await first.env(), await second.env()];
    expect(new URL(b.DATABASE_URL).port).not.toBe(new URL(a.DATABASE_URL).port);
    expect(new URL(b.REDIS_URL).port).not.toBe(new URL(a.REDIS_URL).port);
    expect(secondUp).toContain(`REDIS_URL=${b.REDIS_URL}`);

    await roundTrip(a, 'first');
    await roundTrip(b, 'second');
    expect(await readBack(a)).toEqual({ pg: ['first'], redis: 'first' });
    expect(await readBack(b)).toEqual({ pg: ['second'], redis: 'second' });

    await second.services('down');
    await second.services('up');
    expect(await second.env()).toEqual(b);
    expect(await readBack(b)).toEqual({ pg: ['second'], redis: 'second' });
  });

  it('runs both servers as a normal user from the binaries on PATH, without sudo or apt', async () => {
    const pgBin = (await run('bash', ['-c', 'dirname "$(readlink -f "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -n1)")"'])).stdout.trim();
    const path = `${pgBin}:/usr/local/bin:/usr/bin:/bin`;
    const { checkout: c, user } = await plainUserCheckout('ha-plain-');
    made.push({ checkout: c, user });

    const up = await c.services('up', { user, path });
    expect(up).not.toContain('installing');
    expect(await roundTrip(await c.env(), 'plain')).toEqual({ pg: 'plain', redis: 'plain' });

    // The servers run as that user: Redis says its pid, /proc says whose it is.
    const redis = new Redis((await c.env()).REDIS_URL);
    const info = await redis.info('server');
    redis.disconnect();
    const pid = /process_id:(\d+)/.exec(info)![1];
    const owner = (await run('ps', ['-o', 'user=', '-p', pid!])).stdout.trim();
    expect(owner).toBe(user ?? (await run('id', ['-un'])).stdout.trim());
  });

  it('without the servers on PATH, a normal user gets one line saying what to install', async () => {
    const { checkout: c, user } = await plainUserCheckout('ha-bare-');
    made.push({ checkout: c, user });
    // Only what the script itself needs, none of Redis or PostgreSQL. As root it would apt-get
    // instead, so this is a normal user's case, run as one.
    const bare = await mkdtemp(join(tmpdir(), 'ha-bare-bin-'));
    await run('bash', ['-c', `for t in bash env id dirname basename cksum cut mkdir chmod flock cat sed readlink sort ls tail; do ln -s "$(command -v $t)" ${bare}/$t; done`]);
    await chmod(bare, 0o755);
    const failure = await c.services('up', { user, path: bare }).then(
      () => null,
      (err: { stderr: string; code: number }) => err,
    );
    expect(failure?.code).toBe(1);
    const lines = failure!.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    // Debian's PostgreSQL lives off PATH in /usr/lib/postgresql, where the script finds it.
    expect(lines[0]).toMatch(/^services: found no redis-server( and PostgreSQL server \(initdb, pg_ctl, postgres\))? on PATH and no Docker engine; install them .*apt-get install redis-server postgresql.*brew install/);
  });
});
