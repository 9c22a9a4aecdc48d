import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { cancel, pause, resume } from '../queue/run-control.js';
import { configFrom, withApp, type App } from './context.js';
import { terminalText } from './terminal-text.js';

interface ResumeFlags {
  budgetCredits?: string;
}

/** `pause`, `resume` and `cancel`: one run id in, one line out. */
function runControlCommand(
  name: string,
  description: string,
  act: (app: App, runId: number, flags: ResumeFlags) => Promise<string>,
  options: (command: Command) => Command = (command) => command,
): Command {
  return options(new Command(name).description(description).argument('<runId>', 'the run (see `runs`)')).action(
    async (rawRunId: string, flags: ResumeFlags, command: Command) => {
      const runId = positiveInt(rawRunId, 'runId', 1);
      await withApp(configFrom(command), async (app) => {
        process.stdout.write(`${terminalText(await act(app, runId, flags))}
`);
      });
    },
  );
}

export const runControlCommands = (): Command[] => [
  runControlCommand('pause', 'pause a queued or running run after its current page; `resume` continues it', async (app, runId) => {
    await pause(app.database.db, runId);
    return `run ${runId} paused`;
  }),
  runControlCommand(
    'resume',
    'continue a failed, paused or cancelled run from its last committed page (no page is fetched twice)',
    async (app, runId, flags) => {
      const budgetCredits = flags.budgetCredits === undefined ? undefined : positiveInt(flags.budgetCredits, '--budget-credits', 1);
      const reopened = await resume(app.database.db, app.queue, runId, budgetCredits === undefined ? {} : { budgetCredits });
      const budget = budgetCredits === undefined ? '' : ` with a budget of ${budgetCredits} credits`;
      if (reopened.kind === 'completed') return `run ${runId} completed: every page it needed was already archived`;
      return `run ${runId} resumes at page ${reopened.pageNumber} (cursor ${reopened.cursor})${budget}`;
    },
    (command) => command.option('--budget-credits <n>', 'the run\'s new credit budget (a run paused on its budget needs a larger one)'),
  ),
  runControlCommand('cancel', 'stop a run for good after its current page (what it archived stays)', async (app, runId) => {
    await cancel(app.database.db, runId);
    return `run ${runId} cancelled`;
  }),
];
