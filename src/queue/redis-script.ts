import type { RedisConnection } from './connection.js';

export type RedisScript = (...keysThenArgs: Array<string | number>) => Promise<unknown>;

/**
 * A Lua script registered with ioredis's defineCommand, which runs it by its SHA1 (EVALSHA) and
 * sends the text only when Redis lacks it (first use, or after a restart). Page jobs run several
 * scripts each; sending their text every time cost Node and Redis more than running them.
 */
export function defineScript(redis: RedisConnection, name: string, numberOfKeys: number, lua: string): RedisScript {
  redis.defineCommand(name, { numberOfKeys, lua });
  const command = (redis as unknown as Record<string, RedisScript>)[name]!;
  return (...keysThenArgs) => command.apply(redis, keysThenArgs);
}
