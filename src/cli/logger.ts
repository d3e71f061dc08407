// Logs for the agent: one JSON object per line when stdout is not a terminal (for
// log shippers), a readable coloured line when a person is watching.
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** bytes of JSON log lines held while stdout is not keeping up */
export const MAX_LOG_BUFFER = 16 * 1024 * 1024;

export function createLogger(level: LogLevel, json = !process.stdout.isTTY): PinoLogger {
  // Asynchronous writes: a failure detector must not block on its log. With write(2)
  // per line, a join that brings N members spent a fifth of its time writing N lines
  // (bench/results/join-timeline.md), and a stalled log pipe would stall the probes.
  // The buffer is bounded (lines past MAX_LOG_BUFFER are dropped, not queued without
  // limit); pino flushes what is buffered when the process exits.
  if (json) return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: false, maxLength: MAX_LOG_BUFFER }));
  // pino-pretty only for a person watching: it costs ~40 ms of start-up CPU.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(
    { level, base: undefined },
    pretty({ colorize: true, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'node' }),
  );
}
