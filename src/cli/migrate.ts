import { Command } from 'commander';
import { runMigrations } from '../db/migrate.js';
import { configFrom, withDatabase } from './context.js';

export function migrateCommand(): Command {
  return new Command('migrate').description('create or update the archive tables in Postgres').action(async (_opts, command: Command) => {
    await withDatabase(configFrom(command), async (database) => {
      await runMigrations(database.db);
      process.stdout.write('migrations applied\n');
    });
  });
}
