// Logs for the agent: one JSON object per line when stdout is not a terminal (for
// log shippers), a readable coloured line when a person is watching.
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, json = !process.stdout.isTTY): PinoLogger {
  if (json) return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: true }));
  return pino(
    { level, base: undefined },
    pretty({ colorize: true, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'node' }),
  );
}
