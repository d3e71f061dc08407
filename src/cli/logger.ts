// Logs for the agent: one JSON object per line when stdout is not a terminal (for
// log shippers), a readable coloured line when a person is watching.
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, json = !process.stdout.isTTY): PinoLogger {
  if (json) return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: true }));
  // pino-pretty only for a person watching: it costs ~40 ms of start-up CPU.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(
    { level, base: undefined },
    pretty({ colorize: true, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'node' }),
  );
}
