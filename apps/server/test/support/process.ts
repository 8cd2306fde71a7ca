// Runs `src/main.ts` as `npm start` does, in a child process, and reads its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.ts';
import { fileURLToPath } from 'node:url';

const serverDir = fileURLToPath(new URL('../..', import.meta.url));

export type MainProcess = {
  child: ChildProcess;
  port: number;
  origin: string;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
};

export async function startMain(env: Record<string, string | undefined>): Promise<MainProcess> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Deals API listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
