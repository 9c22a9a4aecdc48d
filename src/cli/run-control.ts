import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { cancel, pause, resume } from '../queue/run-control.js';
import { configFrom, withApp, type App } from './context.js';

/** `pause`, `resume` and `cancel`: one run id in, one line out. */
function runControlCommand(name: string, description: string, act: (app: App, runId: number) => Promise<string>): Command {
  return new Command(name)
    .description(description)
    .argument('<runId>', 'the run (see `runs`)')
    .action(async (rawRunId: string, _flags, command: Command) => {
      const runId = positiveInt(rawRunId, 'runId', 1);
      await withApp(configFrom(command), async (app) => {
        process.stdout.write(`${await act(app, runId)}\n`);
      });
    });
}

export const runControlCommands = (): Command[] => [
  runControlCommand('pause', 'pause a queued or running run after its current page; `resume` continues it', async (app, runId) => {
    await pause(app.database.db, runId);
    return `run ${runId} paused`;
  }),
  runControlCommand(
    'resume',
    'continue a failed, paused or cancelled run from its last committed page (no page is fetched twice)',
    async (app, runId) => {
      const point = await resume(app.database.db, app.queue, runId);
      return `run ${runId} resumes at page ${point.pageNumber} (cursor ${point.cursor})`;
    },
  ),
  runControlCommand('cancel', 'stop a run for good after its current page (what it archived stays)', async (app, runId) => {
    await cancel(app.database.db, runId);
    return `run ${runId} cancelled`;
  }),
];
