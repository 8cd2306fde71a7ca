// Runs the real admin CLI in a child process against a test database.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const serverDir = fileURLToPath(new URL('../..', import.meta.url));

export type CliResult = { code: number; stdout: string; stderr: string };

// `node --import tsx` is what `tsx` itself does, minus npx's and tsx's own extra process:
// about 0.6 s less per run on a 2-core machine.
export function runCli(databaseUrl: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/admin/cli.ts', ...args],
      { cwd: serverDir, env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** The one JSON document a successful `--json` run prints, and nothing else. */
export async function runCliJson<T = Record<string, unknown>>(databaseUrl: string, args: string[]): Promise<T> {
  const result = await runCli(databaseUrl, [...args, '--json']);
  if (result.code !== 0) throw new Error(`admin ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
