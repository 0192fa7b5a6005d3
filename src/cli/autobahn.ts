/**
 * `sockwave autobahn URL --agent NAME`: the Autobahn|Testsuite fuzzing-server
 * client protocol, so any fuzzing server can test our client. The protocol:
 * `GET /getCaseCount` answers one text message with the number of cases;
 * for each case `GET /runCase?case=N&agent=NAME` is a connection on which the
 * client echoes every message until the server closes; finally
 * `GET /updateReports?agent=NAME` asks the server to write its reports.
 */
import { parseArgs } from 'node:util';
import { connect } from '../node/socket/connect.js';
import { AUTOBAHN_USAGE } from './usage.js';
import { ExitCode, UsageError, withUsageErrors, parseIntegerOption, parseTargetUrl, type CliIo } from './args.js';
import { errorLine } from './format.js';

const OPTIONS = {
  agent: { type: 'string', short: 'a' },
  cases: { type: 'string' },
  'case-timeout': { type: 'string' },
  deflate: { type: 'boolean', default: true },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface AutobahnSettings {
  base: URL;
  agent: string;
  cases: Array<[number, number]> | undefined;
  caseTimeoutMs: number;
  isDeflateOffered: boolean;
  isQuiet: boolean;
}

/** Autobahn cases carry messages up to 16 MiB (case 9.x) plus compression: allow more than our default. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** `1-10,15` into inclusive ranges. */
export function parseCaseList(value: string): Array<[number, number]> {
  return value.split(',').map((part) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new UsageError(`--cases must look like 1-10,15, got '${value}'`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from < 1 || to < from) throw new UsageError(`--cases range '${part.trim()}' is empty or starts below 1`);
    return [from, to];
  });
}

export function parseAutobahnArgs(argv: string[]): AutobahnSettings | null {
  const { values, positionals } = withUsageErrors(() =>
    parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, allowNegative: true }),
  );
  if (values.help) return null;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing URL' : `unexpected argument '${positionals[1]}'`);
  }
  if (!values.agent) throw new UsageError('missing --agent NAME');
  const base = parseTargetUrl(positionals[0]);
  base.search = '';
  base.hash = '';
  return {
    base,
    agent: values.agent,
    cases: values.cases === undefined ? undefined : parseCaseList(values.cases),
    caseTimeoutMs: parseIntegerOption('--case-timeout', values['case-timeout'], 1, 86_400_000) ?? 60_000,
    isDeflateOffered: values.deflate,
    isQuiet: values.quiet,
  };
}

function endpoint(base: URL, path: string, query: Record<string, string | number>): URL {
  const url = new URL(base.href);
  // A base of ws://host:9001 has the path '/', which must not double the slash.
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  return url;
}

interface SessionResult {
  /** First text message, if any (getCaseCount's answer). */
  firstText: string | undefined;
  code: number;
  error: unknown;
  isTimedOut: boolean;
}

/**
 * One connection: optionally echo every message, resolve when it closes (or
 * the timeout terminates it). Never rejects: failures are data for the caller.
 */
function session(url: URL, s: AutobahnSettings, isEcho: boolean, timeoutMs: number): Promise<SessionResult> {
  return new Promise((resolve) => {
    const result: SessionResult = { firstText: undefined, code: 1006, error: undefined, isTimedOut: false };
    let socket: ReturnType<typeof connect>;
    try {
      socket = connect(url, {
        perMessageDeflate: s.isDeflateOffered ? undefined : false,
        maxMessageBytes: MAX_MESSAGE_BYTES,
      });
    } catch (error) {
      resolve({ ...result, error });
      return;
    }
    const timer = setTimeout(() => {
      result.isTimedOut = true;
      socket.terminate();
    }, timeoutMs);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary && result.firstText === undefined) result.firstText = data.toString('utf8');
      if (isEcho && socket.readyState === 1) socket.send(data, { binary: isBinary });
    });
    socket.on('error', (error: unknown) => {
      result.error ??= error;
    });
    socket.on('close', (code: number) => {
      clearTimeout(timer);
      result.code = code;
      resolve(result);
    });
  });
}

export async function runAutobahn(argv: string[], io: CliIo): Promise<number> {
  const s = parseAutobahnArgs(argv);
  if (s === null) {
    io.stdout.write(`${AUTOBAHN_USAGE}\n`);
    return ExitCode.OK;
  }
  const log = (line: string): void => {
    if (!s.isQuiet) io.stderr.write(`${line}\n`);
  };

  const countReply = await session(endpoint(s.base, '/getCaseCount', {}), s, false, 30_000);
  const count = Number(countReply.firstText);
  if (!Number.isInteger(count) || count < 0) {
    const why = countReply.error ? errorLine(countReply.error) : `answer was '${countReply.firstText ?? ''}'`;
    io.stderr.write(`error: could not get the case count from ${s.base.href}: ${why}\n`);
    return ExitCode.CONNECTION_ERROR;
  }

  const selected = (s.cases ?? [[1, count]]).flatMap(([from, to]) => {
    const list: number[] = [];
    for (let n = from; n <= Math.min(to, count); n++) list.push(n);
    return list;
  });
  log(`${count} cases on the server, running ${selected.length} as agent '${s.agent}'`);
  const started = Date.now();
  let timeouts = 0;
  for (const [index, n] of selected.entries()) {
    const result = await session(endpoint(s.base, '/runCase', { case: n, agent: s.agent }), s, true, s.caseTimeoutMs);
    if (result.isTimedOut) timeouts++;
    // The outcome of a case is judged by the server; we only report how the connection ended.
    log(`case ${n} (${index + 1}/${selected.length}): closed ${result.code}${result.isTimedOut ? ' after timeout' : ''}`);
  }

  const report = await session(endpoint(s.base, '/updateReports', { agent: s.agent }), s, false, 120_000);
  if (report.error !== undefined && report.code === 1006) {
    io.stderr.write(`error: could not update reports: ${errorLine(report.error)}\n`);
    return ExitCode.CONNECTION_ERROR;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(`done: ${selected.length} cases in ${seconds} s${timeouts ? `, ${timeouts} timed out` : ''}; reports updated`);
  return ExitCode.OK;
}
