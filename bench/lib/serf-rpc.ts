// A minimal client for Serf's agent RPC (msgpack over TCP, the protocol `serf members`
// and `serf join` speak): handshake, members (all, or by name), join. One request in flight at a time per
// connection. The bench polls every agent every 100 ms; spawning `serf members` that
// often (up to 640 processes a second at N = 64) would measure the CLI, not the agents.
import { connect, type Socket } from 'node:net';
import { decodeMsgpack, encodeMsgpack, MsgpackMap, utf8Decode, type DecodedValue } from '../../src/wire/msgpack.js';
import { DecodeError } from '../../src/errors.js';

export interface SerfMember {
  name: string;
  status: string;
}

const text = (v: unknown): string => (v instanceof Uint8Array ? utf8Decode(v) : typeof v === 'string' ? v : String(v ?? ''));
const field = (v: DecodedValue | undefined, key: string): DecodedValue | undefined => (v instanceof MsgpackMap ? v.get(key) : undefined);

export class SerfRpc {
  private chunks: Buffer[] = [];
  private size = 0;
  /** bytes buffered at the last decode that found a value cut short */
  private triedAt = 0;
  private lull: NodeJS.Timeout | undefined;
  private waiting: Array<(v: DecodedValue) => void> = [];
  private values: DecodedValue[] = [];
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      clearTimeout(this.lull);
      // Decoding the whole buffer again on every TCP chunk is quadratic: a 10,000-member
      // answer (1.7 MB, ~27 chunks) cost the bench seconds. Try again once the buffer has
      // doubled since a value was last found cut short, or when the bytes stop (2 ms).
      if (this.size >= 2 * this.triedAt) this.parse();
      else this.lull = setTimeout(() => this.parse(), 2);
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('serf RPC connection closed')));
  }

  private parse(): void {
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.triedAt = 0;
    while (buf.length > 0) {
      let r: { value: DecodedValue; end: number };
      try {
        r = decodeMsgpack(buf);
      } catch (e) {
        if (e instanceof DecodeError && e.reason === 'truncated') {
          this.triedAt = buf.length;
          break;
        }
        this.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      buf = buf.subarray(r.end);
      const w = this.waiting.shift();
      if (w) w(r.value);
      else this.values.push(r.value);
    }
    this.chunks = buf.length > 0 ? [buf] : [];
    this.size = buf.length;
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    clearTimeout(this.lull);
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

  private next(timeoutMs: number): Promise<DecodedValue | undefined> {
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

  private call(command: string, body: Record<string, unknown> | undefined, hasResponseBody: boolean, timeoutMs: number): Promise<DecodedValue | undefined> {
    const run = async (): Promise<DecodedValue | undefined> => {
      if (this.closed) throw this.closed;
      const seq = this.seq++;
      const parts = [encodeMsgpack({ Command: command, Seq: seq })];
      if (body) parts.push(encodeMsgpack(body as Parameters<typeof encodeMsgpack>[0]));
      this.socket.write(Buffer.concat(parts));
      const header = await this.next(timeoutMs);
      const error = text(field(header, 'Error'));
      const resp = hasResponseBody ? await this.next(timeoutMs) : undefined;
      if (error !== '') throw new Error(`serf RPC ${command}: ${error}`);
      return resp;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  async members(timeoutMs = 2000): Promise<SerfMember[]> {
    // Only the fields asked for are read: a 10,000-member answer is not turned into objects.
    const list = field(await this.call('members', undefined, true, timeoutMs), 'Members');
    return Array.isArray(list) ? list.map((m) => ({ name: text(field(m, 'Name')), status: text(field(m, 'Status')) })) : [];
  }

  /** the members whose name matches `nameRegexp` (Serf's `members-filtered`): a small answer when the bench needs one member's state */
  async membersNamed(nameRegexp: string, timeoutMs = 2000): Promise<SerfMember[]> {
    const list = field(await this.call('members-filtered', { Tags: {}, Status: '', Name: nameRegexp }, true, timeoutMs), 'Members');
    return Array.isArray(list) ? list.map((m) => ({ name: text(field(m, 'Name')), status: text(field(m, 'Status')) })) : [];
  }

  async join(seeds: string[], timeoutMs = 30_000): Promise<number> {
    const r = await this.call('join', { Existing: seeds, Replay: false }, true, timeoutMs);
    return Number(field(r, 'Num') ?? 0);
  }

  get isOpen(): boolean {
    return this.closed === undefined;
  }

  close(): void {
    this.fail(new Error('closed'));
  }
}
