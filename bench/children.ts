import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SimOptions } from '../src/sim/server.js';
import type { SimRequest, SimSummary } from './sim-child.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const children = new Set<ChildProcess>();

/** Ends every child this process started (by pid, each one), e.g. after a failed bench. */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface SimChild {
  baseUrl: string;
  pid: number;
  configure(patch: Partial<SimOptions>): Promise<void>;
  /** Clears the simulator's stats and windows and the request recording. */
  reset(): Promise<void>;
  summary(): Promise<SimSummary>;
  close(): Promise<void>;
}

/** The simulator in a child process (see sim-child.ts). */
export async function startSimChild(options: SimOptions): Promise<SimChild> {
  const child = track(fork(here('./sim-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  // A send to a child that is gone (killed on Ctrl-C) fails the request below, not the process.
  child.on('error', () => {});
  let queue: Promise<unknown> = Promise.resolve();
  // One request at a time: answers come back in order.
  const ask = <T>(message: SimRequest): Promise<T> => {
    const next = queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const onMessage = (answer: { type: string; message?: string }) => {
            child.off('exit', onExit);
            if (answer.type === 'error') reject(new Error(`simulator child: ${answer.message}`));
            else resolve(answer as T);
          };
          const onExit = (code: number | null) => {
            child.off('message', onMessage);
            reject(new Error(`simulator child exited (${code})`));
          };
          if (!child.connected) {
            reject(new Error('simulator child is gone'));
            return;
          }
          child.once('message', onMessage);
          child.once('exit', onExit);
          child.send(message);
        }),
    );
    queue = next.catch(() => undefined);
    return next;
  };
  const { baseUrl } = await ask<{ baseUrl: string }>({ type: 'start', options });
  let closed: Promise<void> | undefined;
  return {
    baseUrl,
    pid: child.pid!,
    configure: async (patch) => void (await ask({ type: 'configure', patch })),
    reset: async () => void (await ask({ type: 'reset' })),
    summary: async () => (await ask<{ summary: SimSummary }>({ type: 'summary' })).summary,
    close() {
      closed ??= (async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await ask({ type: 'close' }).catch(() => undefined);
        await Promise.race([exited, sleepMs(5_000).then(() => child.kill('SIGKILL'))]);
      })();
      return closed;
    },
  };
}

export interface WorkerChild {
  pid: number;
  /** The last lines the worker wrote to stderr (its log and progress), for error messages. */
  stderrTail(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * The real CLI worker with this environment: `bin/hashtag-archiver.js worker` (the sources
 * through tsx), or with `compiled` the production build, `bin/hashtag-archiver-dist.js worker`,
 * run as its own executable so that its shebang's V8 flags apply (`buildCli()` first). Its
 * stderr (log lines and a progress line) is kept, not shown: the tail goes into error messages.
 */
export function startCliWorker(env: NodeJS.ProcessEnv, options: { compiled?: boolean } = {}): WorkerChild {
  const child = track(
    options.compiled
      ? spawn(here('../bin/hashtag-archiver-dist.js'), ['worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, [here('../bin/hashtag-archiver.js'), 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4_000);
  });
  return wrap(child, () => tail);
}

let built: Promise<void> | undefined;

/** `npm run build`, once per bench process: dist/ is rebuilt rather than trusted to match the sources. */
export function buildCli(): Promise<void> {
  built ??= new Promise((resolve, reject) => {
    execFile('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT }, (err, _stdout, stderr) =>
      err ? reject(new Error(`npm run build failed:\n${stderr}`)) : resolve(),
    );
  });
  return built;
}

function wrap(child: ChildProcess, stderrTail: () => string): WorkerChild {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    pid: child.pid!,
    stderrTail,
    exited,
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleepMs(graceMs).then(() => child.kill('SIGKILL'))]);
      await exited;
    },
  };
}

/** VmRSS and VmHWM (peak RSS) of a live process, in bytes; null once it is gone. */
export function rssOf(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return null;
  }
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
