// memberlist's TransmitLimitedQueue (wire spec §11.5): what to piggyback next.
// Fewest transmits first; among equals the largest, then the newest. Each message is
// sent at most RetransmitMult × ceil(log10(n+1)) times, and a newer message about a
// node replaces the older one, whatever its type.
import { retransmitLimit } from './formulas.js';

export interface QueuedBroadcast {
  /** name of the node the message is about; a new entry with the same key replaces the old */
  key: string;
  message: Uint8Array;
  /** called once when the entry is finished: sent out the limit, or replaced, or the queue reset */
  onDone?: (why: 'transmitted' | 'replaced' | 'dropped') => void;
}

interface Entry extends QueuedBroadcast {
  transmits: number;
  id: number;
}


export class BroadcastQueue {
  private entries: Entry[] = [];
  private byKey = new Map<string, Entry>();
  private nextId = 0;
  /** total entries dropped because the queue was over maxDepth */
  dropped = 0;

  constructor(
    private readonly retransmitMult: number,
    private readonly numNodes: () => number,
    /** oldest, most-transmitted entries are dropped beyond this depth */
    private readonly maxDepth = 4096,
  ) {}

  get depth(): number {
    return this.entries.length;
  }

  queue(b: QueuedBroadcast): void {
    const old = this.byKey.get(b.key);
    if (old) {
      this.remove(old);
      old.onDone?.('replaced');
    }
    const e: Entry = { ...b, transmits: 0, id: this.nextId++ };
    this.entries.push(e);
    this.byKey.set(b.key, e);
    if (this.entries.length > this.maxDepth) this.prune();
  }

  /**
   * Take messages that fit in `limit` bytes, charging `overhead` per message, and count
   * one transmission for each. Entries reaching the retransmit limit leave the queue.
   */
  take(overhead: number, limit: number): Uint8Array[] {
    if (this.entries.length === 0) return [];
    this.sort();
    const max = retransmitLimit(this.retransmitMult, this.numNodes());
    const out: Uint8Array[] = [];
    const done: Entry[] = [];
    let used = 0;
    for (const e of this.entries) {
      // No memberlist message is shorter than a few bytes: stop once nothing can fit.
      if (limit - used <= overhead + 4) break;
      const cost = e.message.length + overhead;
      if (used + cost > limit) continue;
      used += cost;
      out.push(e.message);
      e.transmits++;
      if (e.transmits >= max) done.push(e);
    }
    for (const e of done) {
      this.remove(e);
      e.onDone?.('transmitted');
    }
    return out;
  }

  /** forget everything (on stop); pending onDone callbacks see 'dropped' */
  reset(): void {
    const all = this.entries;
    this.entries = [];
    this.byKey.clear();
    for (const e of all) e.onDone?.('dropped');
  }

  private sort(): void {
    this.entries.sort((a, b) => a.transmits - b.transmits || b.message.length - a.message.length || b.id - a.id);
  }

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    if (this.byKey.get(e.key) === e) this.byKey.delete(e.key);
  }

  private prune(): void {
    this.sort();
    while (this.entries.length > this.maxDepth) {
      const e = this.entries.pop()!;
      if (this.byKey.get(e.key) === e) this.byKey.delete(e.key);
      this.dropped++;
      e.onDone?.('dropped');
    }
  }
}

/** fill `limit` bytes: memberlist's own broadcasts first, then user broadcasts when more than 3 bytes are left */
export function takeGossip(system: BroadcastQueue, user: BroadcastQueue, limit: number): Uint8Array[] {
  const sys = system.take(2, limit);
  const used = sys.reduce((n, m) => n + m.length + 2, 0);
  return limit - used <= 3 ? sys : [...sys, ...user.take(2, limit - used)];
}
