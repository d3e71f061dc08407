// Typed errors. Every error the library raises on purpose is one of these, so
// callers can branch on `code` instead of parsing messages.

/** Why a packet or stream could not be decoded; also the label of the dropped-packet metric. */
export const DECODE_ERROR_REASONS = [
  'truncated',
  'malformed',
  'unknown_type',
  'bad_crc',
  'decompress_failed',
  'decrypt_failed',
  'oversize',
  'too_deep',
  // cluster labels (wire/label.ts)
  'label_malformed',
  'label_missing',
  'label_unexpected',
  'label_mismatch',
] as const;
export type DecodeErrorReason = (typeof DECODE_ERROR_REASONS)[number];

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code = 'ERR_RXSWIM_DECODE';
  constructor(
    readonly reason: DecodeErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_RXSWIM_CONFIG';
  constructor(
    /** dotted path of the offending option, e.g. `probeTimeout` */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface SeedFailure {
  seed: string;
  reason: string;
}

export class JoinError extends Error {
  override readonly name = 'JoinError';
  readonly code = 'ERR_RXSWIM_JOIN';
  constructor(readonly failures: SeedFailure[]) {
    super(
      failures.length === 0
        ? 'join: no seeds given'
        : `join failed for every seed: ${failures.map((f) => `${f.seed} (${f.reason})`).join('; ')}`,
    );
  }
}

export class StateError extends Error {
  override readonly name = 'StateError';
  readonly code = 'ERR_RXSWIM_STATE';
}

/** forceLeave() refused: the name is this node's own, or not a member it lists */
export class ForceLeaveError extends StateError {
  constructor(
    readonly reason: 'self' | 'unknown',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A keyring operation that memberlist would refuse: using or removing a key
 * that is not installed, or removing the primary (the only key that encrypts).
 */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  readonly code = 'ERR_RXSWIM_KEYRING';
}
