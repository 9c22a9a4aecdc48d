import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { getRun, reopenRun } from '../db/runs.js';
import { enqueuePage } from '../queue/pages-queue.js';
import { configFrom, withApp } from './context.js';

export function resumeCommand(): Command {
  return new Command('resume')
    .description('continue a failed, paused or cancelled run from its last committed page (no page is fetched twice)')
    .argument('<runId>', 'the run to continue (see `runs`)')
    .action(async (rawRunId: string, _flags, command: Command) => {
      const runId = positiveInt(rawRunId, 'runId', 1);
      await withApp(configFrom(command), async (app) => {
        const point = await reopenRun(app.database.db, runId);
        if (!point) {
          const run = await getRun(app.database.db, runId);
          throw new Error(
            run
              ? `run ${runId} is ${run.status}${run.stopReason ? ` (${run.stopReason})` : ''}; only failed, paused or cancelled runs that have pages left can be resumed`
              : `run ${runId} does not exist; see 'hashtag-archiver runs'`,
          );
        }
        await enqueuePage(app.queue, {
          runId,
          hashtagId: point.run.hashtagId,
          pageNumber: point.pageNumber,
          cursor: point.cursor,
          emptyStreak: point.emptyStreak,
          generation: point.run.generation,
        });
        process.stdout.write(`run ${runId} resumes at page ${point.pageNumber} (cursor ${point.cursor})\n`);
      });
    });
}
