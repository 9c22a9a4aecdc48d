import Table from 'cli-table3';
import { Command } from 'commander';
import { videoHistory, type StatsSnapshot } from '../db/history.js';
import { configFrom, withDatabase } from './context.js';
import { terminalText } from './terminal-text.js';

export function historyCommand(): Command {
  return new Command('history')
    .description("a video's counts each time a crawl saw it: plays, likes, comments, shares, saves (oldest first)")
    .argument('<videoId>', 'the id of an archived video')
    .option('--json', 'print JSON instead of a table')
    .action(async (videoId: string, flags: { json?: boolean }, command: Command) => {
      await withDatabase(configFrom(command), async (database) => {
        const snapshots = await videoHistory(database.db, videoId.trim());
        process.stdout.write(flags.json ? `${JSON.stringify(snapshots, null, 2)}\n` : `${terminalText(renderHistory(videoId.trim(), snapshots))}\n`);
      });
    });
}

export function renderHistory(videoId: string, snapshots: StatsSnapshot[]): string {
  if (snapshots.length === 0) return `video ${videoId} is archived, but no crawl has recorded its counts yet`;
  const count = (value: number | null) => (value === null ? '' : value.toLocaleString('en-US'));
  const table = new Table({ head: ['captured at', 'run', 'plays', 'likes', 'comments', 'shares', 'saves'], style: { head: [], border: [] } });
  for (const s of snapshots) {
    table.push([s.capturedAt.toISOString(), s.runId ?? '', count(s.plays), count(s.likes), count(s.comments), count(s.shares), count(s.saves)]);
  }
  return table.toString();
}
