// A minimal client for Serf's agent RPC (msgpack over TCP, the protocol `serf members`
// and `serf join` speak): handshake, members, join. One request in flight at a time per
// connection. The bench polls every agent every 100 ms; spawning `serf members` that
// often (up to 640 processes a second at N = 64) would measure the CLI, not the agents.
import { connect, type Socket } from 'node:net';
import { decodeMsgpack, encodeMsgpack, MsgpackMap, utf8Decode, type DecodedValue } from '../../src/wire/msgpack.js';
import { DecodeError } from '../../src/errors.js';

export interface SerfMember {
  name: string;
  status: string;
}

type Plain = null | boolean | number | bigint | Uint8Array | Plain[] | { [k: string]: Plain } | unknown;

function plain(v: DecodedValue): Plain {
  if (v instanceof MsgpackMap) {
    const o: Record<string, Plain> = {};
    for (const [k, x] of v.entries) o[k instanceof Uint8Array ? utf8Decode(k) : String(k)] = plain(x);
    return o;
  }
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

const text = (v: unknown): string => (v instanceof Uint8Array ? utf8Decode(v) : typeof v === 'string' ? v : String(v ?? ''));

export class SerfRpc {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: Array<(v: Plain) => void> = [];
  private values: Plain[] = [];
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      for (;;) {
        if (this.buf.length === 0) break;
        let r: { value: DecodedValue; end: number };
        try {
          r = decodeMsgpack(this.buf);
        } catch (e) {
          if (e instanceof DecodeError && e.reason === 'truncated') break;
          this.fail(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        this.buf = this.buf.subarray(r.end);
        const value = plain(r.value);
        const w = this.waiting.shift();
        if (w) w(value);
        else this.values.push(value);
      }
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('serf RPC connection closed')));
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    this.socket.destroy();
  }

  /** connects and does the version-1 handshake */
  static async connect(addr: string, timeoutMs = 2000): Promise<SerfRpc> {
    const [host, port] = addr.split(':');
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: host!, port: Number(port) });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`serf RPC ${addr}: connect timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    socket.setNoDelay(true);
    const c = new SerfRpc(socket);
    await c.call('handshake', { Version: 1 }, false, timeoutMs);
    return c;
  }

  private next(timeoutMs: number): Promise<Plain> {
    if (this.values.length > 0) return Promise.resolve(this.values.shift());
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        // a late answer would pair with the wrong request: give the connection up
        this.fail(new Error('serf RPC timed out'));
        reject(new Error('serf RPC timed out'));
      }, timeoutMs);
      this.waiting.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }

  private call(command: string, body: Record<string, unknown> | undefined, hasResponseBody: boolean, timeoutMs: number): Promise<Plain> {
    const run = async (): Promise<Plain> => {
      if (this.closed) throw this.closed;
      const seq = this.seq++;
      const parts = [encodeMsgpack({ Command: command, Seq: seq })];
      if (body) parts.push(encodeMsgpack(body as Parameters<typeof encodeMsgpack>[0]));
      this.socket.write(Buffer.concat(parts));
      const header = (await this.next(timeoutMs)) as { Seq?: unknown; Error?: unknown };
      const error = text(header.Error);
      const resp = hasResponseBody ? await this.next(timeoutMs) : undefined;
      if (error !== '') throw new Error(`serf RPC ${command}: ${error}`);
      return resp;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  async members(timeoutMs = 2000): Promise<SerfMember[]> {
    const r = (await this.call('members', undefined, true, timeoutMs)) as { Members?: unknown };
    const list = Array.isArray(r.Members) ? (r.Members as Array<Record<string, unknown>>) : [];
    return list.map((m) => ({ name: text(m.Name), status: text(m.Status) }));
  }

  async join(seeds: string[], timeoutMs = 30_000): Promise<number> {
    const r = (await this.call('join', { Existing: seeds, Replay: false }, true, timeoutMs)) as { Num?: unknown };
    return Number(r.Num ?? 0);
  }

  get isOpen(): boolean {
    return this.closed === undefined;
  }

  close(): void {
    this.fail(new Error('closed'));
  }
}
