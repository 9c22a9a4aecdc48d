import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { CrawloraError } from '../crawlora/errors.js';
import { ServiceUnavailableError } from '../health.js';
import { WebhookInputError } from '../webhooks/errors.js';
import { terminalLine } from './terminal-text.js';

interface CommandModule {
  names: string[];
  load(): Promise<Command[]>;
}

/**
 * Each command's module is imported only when that command runs, so a long-lived `worker` does
 * not carry the dashboard's server, CSV export or tables, and a `runs` does not load BullMQ.
 * Listed in the order `--help` shows them.
 */
const COMMAND_MODULES: CommandModule[] = [
  { names: ['migrate'], load: async () => [(await import('./migrate.js')).migrateCommand()] },
  { names: ['crawl'], load: async () => [(await import('./crawl.js')).crawlCommand()] },
  { names: ['resolve'], load: async () => [(await import('./resolve.js')).resolveCommand()] },
  { names: ['worker'], load: async () => [(await import('./worker.js')).workerCommand()] },
  { names: ['schedule'], load: async () => [(await import('./schedule.js')).scheduleCommand()] },
  { names: ['webhook'], load: async () => [(await import('./webhook.js')).webhookCommand()] },
  { names: ['runs'], load: async () => [(await import('./runs.js')).runsCommand()] },
  { names: ['pause', 'resume', 'cancel'], load: async () => (await import('./run-control.js')).runControlCommands() },
  { names: ['usage'], load: async () => [(await import('./usage.js')).usageCommand()] },
  { names: ['plan'], load: async () => [(await import('./plan.js')).planCommand()] },
  { names: ['keys'], load: async () => [(await import('./keys.js')).keysCommand()] },
  { names: ['export'], load: async () => [(await import('./export.js')).exportCommand()] },
  { names: ['package'], load: async () => [(await import('./package.js')).packageCommand()] },
  { names: ['stats'], load: async () => [(await import('./stats.js')).statsCommand()] },
  { names: ['history'], load: async () => [(await import('./history.js')).historyCommand()] },
  { names: ['sim'], load: async () => [(await import('./sim.js')).simCommand()] },
  { names: ['demo'], load: async () => [(await import('./demo.js')).demoCommand()] },
  { names: ['serve'], load: async () => [(await import('./serve.js')).serveCommand()] },
];

/**
 * The program with the command `argv` names; with every command when it names none it knows
 * (`--help`, `help worker`, a typo), so the overview and commander's suggestions stay whole.
 */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('hashtag-archiver')
    .description('Archive every video listed under TikTok hashtags into Postgres, through the Crawlora API')
    .option('--plan <plan>', 'Crawlora plan: free, starter, growth, pro, business, enterprise (CRAWLORA_PLAN)')
    .option('--database-url <url>', 'Postgres connection string (DATABASE_URL); a password given here shows in `ps` to every user of the machine: prefer the variable')
    .option('--redis-url <url>', 'Redis connection string (REDIS_URL); a password given here shows in `ps`: prefer the variable')
    .option('--base-url <url>', 'Crawlora API base (CRAWLORA_BASE_URL)')
    .option('--queue-prefix <prefix>', 'BullMQ key prefix; a {hash-tag} keeps Redis Cluster happy (HA_QUEUE_PREFIX)')
    .option('--log-level <level>', 'pino log level (LOG_LEVEL)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const name = commandName(program, argv.slice(2));
  const named = COMMAND_MODULES.filter((module) => name !== undefined && module.names.includes(name));
  const modules = named.length > 0 ? named : COMMAND_MODULES;
  for (const commands of await Promise.all(modules.map((module) => module.load()))) {
    for (const command of commands) program.addCommand(command.exitOverride());
  }
  return program;
}

/** The first operand, past the global options and their values (`--plan pro worker` names `worker`). */
function commandName(program: Command, args: string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') return args[index + 1];
    if (!arg.startsWith('-')) return arg;
    if (program.options.find((option) => option.long === arg || option.short === arg)?.required) index++;
  }
  return undefined;
}

/** Expected failures print one line and exit non-zero; anything else is a bug and shows its stack. */
export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ConfigError || err instanceof CrawloraError || err instanceof ServiceUnavailableError || err instanceof WebhookInputError) {
      process.stderr.write(`error: ${terminalLine(err.message)}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`error: ${terminalLine(err instanceof Error ? err.message : String(err))}\n`);
    if (process.env.DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    process.exitCode = 1;
  }
}
