// Errors of the agent and the CLI that the library does not raise. Kept apart from
// agent.ts so that the exit-code table (exit.ts) can name them without loading the node.

/**
 * The agent could not bind its gossip port (`--bind`) or listen on its HTTP address
 * (`--http`): the port is taken, the address is not on this host, permission was
 * denied, or the host name does not resolve. `setting` is the setting as the
 * operator gave it (`--bind`, `RXSWIM_HTTP`, `rxswim.yaml: bind`).
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  readonly code = 'ERR_RXSWIM_LISTEN';
  constructor(
    readonly setting: string,
    readonly address: string,
    /** the system's error code: EADDRINUSE, EADDRNOTAVAIL, EACCES, ENOTFOUND, ... */
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${setting}: ${ListenError.explain(address, errno)}`, options);
  }

  private static explain(address: string, errno: string | undefined): string {
    switch (errno) {
      case 'EADDRINUSE':
        return `${address} is already in use (EADDRINUSE): another process listens there`;
      case 'EADDRNOTAVAIL':
        return `cannot bind ${address} (EADDRNOTAVAIL): the address is not on this host`;
      case 'EACCES':
      case 'EPERM':
        return `cannot bind ${address} (${errno}): permission denied`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `cannot listen on ${address} (${errno}): the host name does not resolve`;
      default:
        return `cannot listen on ${address}${errno ? ` (${errno})` : ''}`;
    }
  }
}

/** The system error code of `e` or of an error in its `cause` chain. */
export function errnoOf(e: unknown): string | undefined {
  for (let x: unknown = e, depth = 0; x !== null && typeof x === 'object' && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && /^E(?!RR_)[A-Z0-9_]+$/.test(code)) return code;
  }
  return undefined;
}

/** A client command's failure talking to the agent: unreachable, timed out, or it refused (4xx/5xx). */
export class AgentError extends Error {
  override readonly name = 'AgentError';
}
