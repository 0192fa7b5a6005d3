// How a load process reports to bench/run.mjs: one `RESULT {json}` line on
// stdout, either the measurement or { error }. Any uncaught failure becomes
// an error result, so the runner shows FAILED with a reason instead of hanging.

export function emit(result) {
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\n');
}

export function die(reason) {
  emit({ error: String(reason && reason.message ? reason.message : reason) });
  process.exit(1);
}

process.on('uncaughtException', die);
process.on('unhandledRejection', die);
