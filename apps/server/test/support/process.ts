// Runs the server as a process and reads its output: the source (`node --import tsx
// src/main.ts`), or exactly what `npm start` runs (the package's start script: the compiled
// dist/). Only for tests about the process itself (exit codes, signals, kill -9, what a user
// sees printed); a test that needs a running server uses support/running-server.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';

const serverDir = fileURLToPath(new URL('../..', import.meta.url));

export type MainProcess = {
  child: ChildProcess;
  port: number;
  origin: string;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
};

export type Entry = 'source' | 'npm start';

/** The command of the package's `start` script, as argv (it is a plain `node … dist/main.js`). */
export function npmStartCommand(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(serverDir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const argv = scripts.start!.split(/\s+/);
  if (argv[0] !== 'node') throw new Error(`the start script is no longer a plain node command: ${scripts.start}`);
  return argv.slice(1);
}

/**
 * Fails with the fix when dist/ is missing or older than a source file: `npm test` builds it
 * first (turbo), a bare `npx vitest run` does not.
 */
export function assertBuilt(): void {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const built = join(serverDir, 'dist', relative(join(serverDir, 'src'), path)).replace(/\.ts$/, '.js');
        const builtAt = statSync(built, { throwIfNoEntry: false })?.mtimeMs;
        if (builtAt === undefined || builtAt < statSync(path).mtimeMs) stale.push(relative(serverDir, path));
      }
    }
  };
  walk(join(serverDir, 'src'));
  if (stale.length)
    throw new Error(
      `dist/ is missing or older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ' …' : ''}: run \`npm run build -w @deals/server\``,
    );
}

export async function startMain(env: Record<string, string | undefined>, entry: Entry = 'source'): Promise<MainProcess> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const args = entry === 'source' ? ['--import', 'tsx', 'src/main.ts'] : npmStartCommand();
  const child = spawn(process.execPath, args, { cwd: serverDir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 60 s:\n${output}`)), 60_000);
    const check = () => {
      if (!output.includes('Deals API listening')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before it was listening:\n${output}`));
    });
  });
  await listening;
  return { child, port, origin: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** The demo key and department that the first start on an empty database prints. */
export function printedDemo(output: string): { apiKey: string; departmentId: string; curlBody: string } {
  const apiKey = /X-Api-Key:\s+(\S+)/.exec(output)?.[1];
  const departmentId = /X-Department-Id:\s+(\S+)/.exec(output)?.[1];
  const curlBody = /-d '(.+)'/.exec(output)?.[1];
  if (!apiKey || !departmentId || !curlBody) throw new Error(`no demo credentials printed:\n${output}`);
  return { apiKey, departmentId, curlBody };
}
