#!/usr/bin/env node
/**
 * `mpwire`: poke at Python `multiprocessing` Listeners and managers from a shell. Thin over the
 * public API; errors are one line plus an exit code (see {@link EXIT}) unless `--debug`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { parseAddress } from './address.js';
import { check } from './check.js';
import { disCommand } from './dis.js';
import { CliFailure, EXIT, UsageError } from './errors.js';
import { listenCommand } from './listen.js';
import { managerCommand } from './manager.js';
import { probe } from './probe.js';
import { sendCommand } from './send.js';
import { parseTimeout } from './timeout.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(s.endsWith('\n') || s.startsWith('\r') ? s : `${s}\n`);

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function exitCodeOf(e: unknown): number {
  if (e instanceof CliFailure) return e.exitCode;
  if (e instanceof UsageError) return EXIT.usage;
  const code = (e as { code?: string }).code;
  if (code === 'MPWIRE_AUTH') return EXIT.auth;
  return EXIT.failure;
}

function oneLine(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    const first = e.message.split('\n')[0] ?? '';
    // The code leads the line unless the message already names it (listen's bind errors end in `(EADDRINUSE)`).
    const sys = code && /^E[A-Z]+$/.test(code) && !first.includes(`(${code})`) ? `${code}: ` : '';
    if (code === 'ENOENT' && (e as { path?: string }).path) return `no such file: ${(e as { path?: string }).path}`;
    return `${sys}${first}`.replace(/^(E[A-Z]+): \1/, '$1');
  }
  return String(e);
}

/** Build the program (exported for tests and embedding). */
export function buildProgram(): Command {
  const program = new Command();
  let debug = false;
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<void> | void) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (e) {
        if (debug) err(e instanceof Error && e.stack ? e.stack : String(e));
        else err(`mpwire: ${oneLine(e)}`);
        process.exitCode = exitCodeOf(e);
      }
    };

  program.exitOverride(); // before .command(): subcommands copy the setting
  program
    .name('mpwire')
    .description("Talk CPython's multiprocessing wire protocol from the shell: listen, send, probe, check, dis, manager.")
    .version(version())
    .option('--debug', 'print stack traces instead of one-line errors')
    .hook('preAction', (cmd) => {
      debug = Boolean(cmd.opts().debug);
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Addresses: HOST:PORT, :PORT (127.0.0.1), [::1]:PORT, /path/to/socket (or unix:PATH), @name (Linux abstract).
Exit codes: 0 ok, 1 failure (check/probe verdict, connection or remote error), 2 usage, 3 authentication,
141 standard output closed by its reader (e.g. piped into head).

Examples:
  $ mpwire listen :6000 --authkey secret          # print what Python clients send
  $ mpwire send :6000 "(1, 2.0, 'three')" --authkey secret
  $ mpwire probe 127.0.0.1:50000 --authkey abc     # which dialect, manager or not, version hints
  $ mpwire check :6000 --authkey secret --report report.json
  $ mpwire manager :50000 get_store get k --authkey abc
  $ python3 -c "import pickle,sys; sys.stdout.buffer.write(pickle.dumps([1,2]))" | mpwire dis -`,
    );

  program
    .command('listen')
    .description('accept connections and print each received message as a Python repr (or JSON)')
    .argument('<address>', 'where to listen (port 0 picks a free port; the bound address is printed on stderr)')
    .option('--authkey <key>', 'require this key (HMAC handshake, every dialect)')
    .addOption(new Option('--codec <codec>', 'payload encoding').choices(['pickle', 'xml', 'bytes']).default('pickle'))
    .option('--echo', 'send every message back')
    .option('--json', 'print messages as JSON lines')
    .option('--count <n>', 'exit after n messages')
    .addHelpText(
      'after',
      `
Examples:
  $ mpwire listen :6000 --authkey secret
  $ mpwire listen /tmp/mp.sock --echo --json
  $ mpwire listen :0 --codec xml --count 1`,
    )
    .action(
      run(async (address: string, opts: { authkey?: string; codec: string; echo?: boolean; json?: boolean; count?: string }) => {
        const count = opts.count === undefined ? undefined : Number(opts.count);
        if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UsageError(`--count must be a positive integer, got '${opts.count}'`);
        await listenCommand(
          parseAddress(address),
          {
            codec: opts.codec,
            ...(opts.authkey === undefined ? {} : { authkey: opts.authkey }),
            ...(opts.echo ? { echo: true } : {}),
            ...(opts.json ? { json: true } : {}),
            ...(count === undefined ? {} : { count }),
          },
          out,
          err,
        );
      }),
    );

  program
    .command('send')
    .description('connect, send one value (a Python literal or JSON) or a file, optionally print the reply')
    .argument('<address>', 'server address')
    .argument('[value]', "the value, e.g. \"(1, 2.0, b'x', {'k': None})\" or '{\"a\": [1, 2]}'")
    .option('--authkey <key>', 'authenticate with this key')
    .option('--protocol <n>', 'pickle protocol 0-5 (default 4)')
    .option('--file <path>', "send this file's bytes as one frame (progress bar on a TTY)")
    .option('--reply', 'wait for one reply and print it')
    .option('--json', 'print the reply as JSON')
    .option('--timeout <ms>', 'connect/reply timeout in milliseconds (Infinity: none)', '10000')
    .addHelpText(
      'after',
      `
Examples:
  $ mpwire send :6000 "('job', 42, 3.5)" --authkey secret
  $ mpwire send :6000 '{"a": [1, 2]}' --protocol 2 --reply
  $ mpwire send /tmp/mp.sock --file big.bin`,
    )
    .action(
      run(async (address: string, value: string | undefined, opts: { authkey?: string; protocol?: string; file?: string; reply?: boolean; json?: boolean; timeout?: string }) => {
        await sendCommand(
          parseAddress(address),
          value,
          {
            ...(opts.authkey === undefined ? {} : { authkey: opts.authkey }),
            ...(opts.protocol === undefined ? {} : { protocol: opts.protocol }),
            ...(opts.file === undefined ? {} : { file: opts.file }),
            ...(opts.reply ? { reply: true } : {}),
            ...(opts.json ? { json: true } : {}),
            timeout: parseTimeout(opts.timeout, 10_000),
            progress: Boolean(process.stderr.isTTY),
          },
          out,
          err,
        );
      }),
    );

  program
    .command('probe')
    .description('connect and report what the server speaks: handshake dialect and digest, key accepted, manager or not, version hints')
    .argument('<address>', 'server address')
    .option('--authkey <key>', 'try this key')
    .option('--json', 'print the report as JSON')
    .option('--timeout <ms>', 'per-step timeout in milliseconds (Infinity: none)', '5000')
    .addHelpText(
      'after',
      `
The last line is the verdict (OK/FAIL); the exit code is non-zero on FAIL (3 when the key is missing or rejected).

Examples:
  $ mpwire probe 127.0.0.1:50000
  $ mpwire probe /tmp/manager.sock --authkey abc --json`,
    )
    .action(
      run(async (address: string, opts: { authkey?: string; json?: boolean; timeout?: string }) => {
        await probe(parseAddress(address), { ...(opts.authkey === undefined ? {} : { authkey: opts.authkey }), ...(opts.json ? { json: true } : {}), timeout: parseTimeout(opts.timeout, 5000) }, out);
      }),
    );

  program
    .command('check')
    .description('conformance battery against a server: handshake rounds, every digest, wrong key, maxlength, frame sizes, extended header, pickle echo')
    .argument('<address>', 'server address (an echo server gets the frame and pickle tests too)')
    .option('--authkey <key>', 'the server key')
    .option('--json', 'print the JSON report instead of the table')
    .option('--report <file>', 'also write the JSON report to a file')
    .option('--timeout <ms>', 'per-step timeout in milliseconds (Infinity: none)', '5000')
    .addHelpText(
      'after',
      `
Every test opens its own connection, so a server handling one connection at a time works.
Exit code 1 when any test FAILs (SKIP does not fail).

Examples:
  $ mpwire check :6000 --authkey secret
  $ mpwire check /tmp/echo.sock --authkey k --report check.json`,
    )
    .action(
      run(async (address: string, opts: { authkey?: string; json?: boolean; report?: string; timeout?: string }) => {
        await check(
          parseAddress(address),
          {
            ...(opts.authkey === undefined ? {} : { authkey: opts.authkey }),
            ...(opts.json ? { json: true } : {}),
            ...(opts.report === undefined ? {} : { report: opts.report }),
            timeout: parseTimeout(opts.timeout, 5000),
          },
          out,
        );
      }),
    );

  program
    .command('dis')
    .description('pickletools-style listing of a pickle, with offsets')
    .argument('<file>', "pickle file, or '-' for stdin")
    .option('--hex', 'the input is hex text')
    .option('--frame', 'the input starts with a wire frame header')
    .addHelpText(
      'after',
      `
Examples:
  $ mpwire dis data.pickle
  $ echo 80049505000000000000004b2a2e | mpwire dis --hex -`,
    )
    .action(
      run((file: string, opts: { hex?: boolean; frame?: boolean }) => {
        disCommand(file, opts, out);
      }),
    );

  program
    .command('manager')
    .description('create a shared object on a multiprocessing manager, optionally call a method on it, print the result')
    .argument('<address>', 'manager address')
    .argument('<typeid>', "a registered typeid, e.g. 'dict', 'Queue' or 'get_store'")
    .argument('[method]', 'method to call on the new object')
    .argument('[args...]', 'arguments: Python literals or JSON; anything else is passed as a string')
    .requiredOption('--authkey <key>', 'the manager authkey')
    .addOption(new Option('--serializer <name>', "the manager's serializer").choices(['pickle', 'xmlrpclib']).default('pickle'))
    .option('--json', 'print the result as JSON')
    .option('--timeout <ms>', 'timeout of each step in milliseconds (Infinity: none)', '10000')
    .addHelpText(
      'after',
      `
The object is released (decref) before exit, so objects only the command referenced go away;
use a registered callable that returns a long-lived object to keep state between runs.

Examples:
  $ mpwire manager :50000 dict --authkey abc                       # create one and list its methods
  $ mpwire manager :50000 get_store update "{'k': [1, 2.5]}" --authkey abc
  $ mpwire manager :50000 get_store get k --authkey abc            # [1, 2.5]
  $ mpwire manager :50000 get_queue put "('job', 1)" --authkey abc`,
    )
    .action(
      run(async (address: string, typeid: string, method: string | undefined, args: string[], opts: { authkey: string; serializer: string; json?: boolean; timeout?: string }) => {
        await managerCommand(parseAddress(address), typeid, method, args, { authkey: opts.authkey, serializer: opts.serializer, ...(opts.json ? { json: true } : {}), timeout: parseTimeout(opts.timeout, 10_000) }, out);
      }),
    );

  return program;
}

/**
 * Once the reader of standard output is gone (`mpwire listen … | head -1`), every write fails with
 * EPIPE, emitted as an 'error' event that would otherwise crash the process with a stack trace.
 * The pipeline has ended, so leave at once and quietly ({@link EXIT}.brokenPipe); any other error
 * of stdout is a one-line failure.
 */
function exitOnStdoutError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(EXIT.brokenPipe);
  err(`mpwire: standard output: ${oneLine(e)}`);
  process.exit(EXIT.failure);
}

/** Run the CLI with `argv` (defaults to `process.argv`). */
export async function main(argv: string[] = process.argv): Promise<void> {
  process.stdout.on('error', exitOnStdoutError);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    err(`mpwire: ${oneLine(e)}`);
    process.exitCode = exitCodeOf(e);
  }
}

await main();
