import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'deals-api' },
    // Belt and braces: request headers are never logged, and the key would be censored if
    // a future log line carried them.
    redact: { paths: ['req.headers["x-api-key"]', 'headers["x-api-key"]', '*.api_key', 'api_key'], censor: '[redacted]' },
  });
}
