// The one exit-code table of every rxswim command (docs/cli.md, "Exit codes"). The
// codes say whose move it is: 1, something at run time failed and trying again may
// help (the agent is unreachable or refused, a port is taken); 2, what was typed is
// wrong and trying again will not help (usage, a setting, seeds none of which
// answers). systemd's RestartPreventExitStatus=2 relies on it.
import { CommanderError } from 'commander';
import { ConfigError, JoinError, KeyringError } from '../errors.js';
import type { AgentOutcome } from './agent.js';
import { AgentError, ListenError } from './errors.js';

export const EXIT = {
  /** did what it was asked; the agent left when told to */
  ok: 0,
  /** a failure at run time: the agent unreachable or refusing, a port in use, an unexpected error */
  failure: 1,
  /** usage or configuration: a command, flag, argument or setting; the agent's seeds never answered */
  usage: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What an error that ends a command means, by its type. */
export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof CommanderError) return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  if (e instanceof ConfigError) return EXIT.usage;
  // the agent's own --join / --retry-join: its seeds are part of its configuration
  if (e instanceof JoinError) return EXIT.usage;
  if (e instanceof ListenError) return EXIT.failure;
  if (e instanceof AgentError || e instanceof KeyringError) return EXIT.failure;
  return EXIT.failure;
}

/** How an agent's life ended, as an exit code. */
export function exitCodeOfOutcome(o: AgentOutcome): ExitCode {
  switch (o.kind) {
    case 'left':
    case 'stopped':
      return EXIT.ok;
    case 'join-failed':
    case 'retry-join-exhausted':
      return EXIT.usage;
    case 'failed':
      return exitCodeOf(o.error);
  }
}

/** The one line printed for an error that ends a command: no stack trace for the errors we expect. */
export function errorLine(e: unknown, command?: string): string {
  const who = command ? `rxswim ${command}` : 'rxswim';
  if (e instanceof ConfigError || e instanceof JoinError || e instanceof ListenError || e instanceof AgentError || e instanceof KeyringError) {
    return `${who}: ${e.message}\n`;
  }
  // A bug or an error nobody anticipated: the stack helps whoever reports it.
  return `${who}: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`;
}
