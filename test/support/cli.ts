import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/hashtag-archiver.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process, as a user would; `env` is added to a clean copy of ours. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', CRAWLORA_API_KEY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The variables that point a CLI child at one test file's database, queue prefix and (when given) simulator, then `extra`. */
export function cliEnv(target: { databaseUrl: string; queuePrefix: string; baseUrl?: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: target.databaseUrl,
    HA_QUEUE_PREFIX: target.queuePrefix,
    // Tests count requests and credits exactly; the coverage tests turn the lookups back on.
    HA_COVERAGE: 'off',
    ...(target.baseUrl === undefined ? {} : { CRAWLORA_BASE_URL: target.baseUrl }),
    ...extra,
  };
}

/** How the CLI refuses: exactly one line on stderr matching `pattern`, and exit `code` (any non-zero code when not given). */
export function expectOneLineError(result: Pick<CliResult, 'code' | 'stderr'>, pattern: RegExp, code?: number): void {
  if (code === undefined) expect(result.code).not.toBe(0);
  else expect(result.code).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}
