import { z } from 'zod';

/** A request parameter the API cannot use: answered 400 with a message that starts with the parameter's name. */
export class BadParameterError extends Error {
  override name = 'BadParameterError';
}

/** Validates path or query parameters; the first problem becomes a BadParameterError naming its parameter. */
export function parseParams<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new BadParameterError(`${issue.path.join('.') || 'parameters'}: ${issue.message}`);
}

/**
 * A whole number in [min, max] given as a string (query strings and paths carry nothing else).
 * Every way of being wrong, a repeated parameter included, gets the same one message.
 */
export function wholeNumber(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error })
    .regex(/^\d{1,16}$/, { error })
    .transform(Number)
    .refine((value) => value >= min && value <= max, { error });
}
