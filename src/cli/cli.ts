/**
 * The `sockwave` command as a function: dispatches to one file per
 * subcommand. Usage errors print one line plus a hint to `--help` on stderr
 * (not the whole usage, which would scroll the error away) and return 2;
 * every other failure is one `error: ...` line with the exit
 * code the command chose. `main.ts` is the bin that calls it.
 */
import { readFileSync } from 'node:fs';
import { ExitCode, UsageError, type CliIo } from './args.js';
import { errorLine, lowerFirst } from './format.js';
import { MAIN_USAGE } from './usage.js';

// Commands load lazily: `--help` and usage errors stay fast, and `connect` never loads the server.
const COMMANDS: Record<string, { run: (argv: string[], io: CliIo) => Promise<number> }> = {
  connect: { run: async (argv, io) => (await import('./connect.js')).runConnect(argv, io) },
  listen: { run: async (argv, io) => (await import('./listen.js')).runListen(argv, io) },
  autobahn: { run: async (argv, io) => (await import('./autobahn.js')).runAutobahn(argv, io) },
};

function version(): string {
  // dist/cli/main.js and src/cli/main.ts are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(`${MAIN_USAGE}\n`);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === '-v' || name === '--version') {
    io.stdout.write(`${version()}\n`);
    return ExitCode.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`error: unknown command '${name}'\nRun 'sockwave --help' for the list of commands.\n`);
    return ExitCode.USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${lowerFirst(error.message)}\nRun 'sockwave ${name} --help' for its options.\n`);
      return ExitCode.USAGE;
    }
    io.stderr.write(`error: ${errorLine(error)}\n`);
    return ExitCode.CONNECTION_ERROR;
  }
}
