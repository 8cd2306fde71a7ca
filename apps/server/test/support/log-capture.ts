// A pino destination that keeps what was logged, so a test can read the server's log lines
// (and wait for one: a request's line is written when its response has finished, which can
// be a moment after the client has read the response).
import type { DestinationStream } from 'pino';

export type LogLine = { level: number; msg: string; [field: string]: unknown };

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export type LogCapture = {
  destination: DestinationStream;
  /** Every line so far, as pino wrote it. */
  text(): string;
  lines(): LogLine[];
  /** Resolves with the first line that matches, as soon as it is written. */
  logged(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
};

export function logCapture(): LogCapture {
  let text = '';
  const waiters = new Set<() => void>();
  const lines = () =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  return {
    destination: {
      write(line: string) {
        text += line;
        for (const wake of waiters) wake();
      },
    },
    text: () => text,
    lines,
    logged(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines().find(match);
          if (!line) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line within ${timeoutMs} ms; logged:\n${text}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
