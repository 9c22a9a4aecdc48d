/** Positional parameters for SQL text built in pieces: each value is sent apart, never spliced in. */
export class SqlParams {
  readonly values: unknown[] = [];

  /** The placeholder of `value`, cast so Postgres knows its type however it is used. */
  add(value: unknown, type: 'text' | 'text[]' | 'timestamptz' | 'int[]'): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}
