import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.ts';

/** JSON lines on stdout, or on `destination` (tests pass a stream to read what was logged). */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'deals-api' },
      // Belt and braces: request headers are never logged (http/access-log.ts), and the key
      // would be censored if a future log line carried them.
      redact: { paths: ['req.headers["x-api-key"]', 'headers["x-api-key"]', '*.api_key', 'api_key'], censor: '[redacted]' },
    },
    destination,
  );
}
