#!/usr/bin/env node
/** The `sockwave` bin (package.json "bin"): runs the CLI on this process's argv and streams. */
import type { CliIo } from './args.js';
import { main } from './cli.js';

const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
const code = await main(process.argv.slice(2), io);
// Flush stdout before exiting: a pipe may still hold the last messages.
process.stdout.write('', () => process.exit(code));
