import { DuckDBInstance } from '@duckdb/node-api';

/**
 * DuckDB is the independent reader: its own C++ Parquet implementation, nothing shared with the
 * writer. One in-memory instance per query keeps test files apart.
 */
export async function duckdbRows(sql: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** A path as a SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
