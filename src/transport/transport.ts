// The only door between protocol code and the network. The same protocol code runs
// over real UDP/TCP (udp-tcp.ts) and over the in-memory network (memory.ts) under
// virtual time, which is what makes deterministic simulation possible.
import type { Observable } from 'rxjs';

export interface Address {
  /** textual IP address (IPv4 dotted or IPv6) */
  host: string;
  port: number;
}

export interface Datagram {
  from: Address;
  data: Uint8Array;
}

/**
 * One TCP connection. memberlist streams carry one request and at most one response.
 * `data$` emits chunks as they arrive and completes when the peer closes its side;
 * it errors on a connection error. All callbacks fire on the transport's scheduler
 * (real I/O for UDP/TCP, the virtual clock for the in-memory network).
 */
export interface StreamConn {
  readonly remote: Address;
  readonly data$: Observable<Uint8Array>;
  write(data: Uint8Array): void;
  /** half-close our side after flushing writes */
  end(): void;
  /** tear down both directions now */
  destroy(): void;
}

export interface Transport {
  /** the address actually bound (port resolved if 0 was asked for) */
  readonly address: Address;
  /** every datagram received; completes on close() */
  readonly packets$: Observable<Datagram>;
  /** every inbound stream connection; completes on close() */
  readonly connections$: Observable<StreamConn>;
  /** fire-and-forget; failures are counted (sendErrors), never thrown */
  sendPacket(to: Address, data: Uint8Array): void;
  /** sendPacket calls that failed (after close(), or the socket refused the datagram); exported as rxswim_transport_errors_total */
  readonly sendErrors?: number;
  /** errors the receiving socket reported (the datagram stream goes on); exported as rxswim_transport_errors_total */
  readonly receiveErrors?: number;
  /** open a stream; emits the connection once, then completes; errors if it cannot connect */
  dial(to: Address): Observable<StreamConn>;
  /** release sockets; idempotent */
  close(): Promise<void>;
}
