// memberlist's TransmitLimitedQueue (wire spec §11.5): what to piggyback next.
// Fewest transmits first; among equals the largest, then the newest. Each message is
// sent at most RetransmitMult × ceil(log10(n+1)) times, and a newer message about a
// node replaces the older one, whatever its type.
import sortedBtree from 'sorted-btree';
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
  /** message.length, kept beside the other sort fields */
  size: number;
  id: number;
}

/** the sort fields alone: a take seeks with these */
type SortKey = Pick<Entry, 'transmits' | 'size' | 'id'>;


// sorted-btree is CommonJS with its class on `default`.
const BTree = sortedBtree.default;

/** memberlist's order: fewest transmits, then the longest message, then the newest */
function byPriority(a: SortKey, b: SortKey): number {
  return a.transmits - b.transmits || b.size - a.size || b.id - a.id;
}

/**
 * The queue is a B+ tree in that order, as memberlist's is a btree: queueing, replacing,
 * counting a transmit and dropping are O(log n), and a take walks only the front.
 */
export class BroadcastQueue {
  private readonly tree = new BTree<SortKey, true>(undefined, byPriority);
  private readonly byKey = new Map<string, Entry>();
  private nextId = 0;
  /** total entries dropped because the queue was over maxDepth */
  dropped = 0;
  /**
   * told when a queue() makes the queue non-empty: the gossip loop sleeps only while
   * every queue is empty, so that is the one moment it can need waking (and a merge
   * queueing 10,000 members tells it once, not 10,000 times)
   */
  onQueued: (() => void) | undefined;

  constructor(
    private readonly retransmitMult: number,
    private readonly numNodes: () => number,
    /** oldest, most-transmitted entries are dropped beyond this depth */
    private readonly maxDepth = 4096,
  ) {}

  get depth(): number {
    return this.tree.size;
  }

  queue(b: QueuedBroadcast): void {
    const wasEmpty = this.tree.size === 0;
    const old = this.byKey.get(b.key);
    if (old) {
      this.remove(old);
      old.onDone?.('replaced');
    }
    const e: Entry = { key: b.key, message: b.message, onDone: b.onDone, transmits: 0, size: b.message.length, id: this.nextId++ };
    this.tree.set(e, true);
    this.byKey.set(b.key, e);
    while (this.tree.size > this.maxDepth) this.dropLast();
    if (wasEmpty) this.onQueued?.();
  }

  /**
   * Take messages that fit in `limit` bytes, charging `overhead` per message, and count
   * one transmission for each. Entries reaching the retransmit limit leave the queue.
   */
  take(overhead: number, limit: number): Uint8Array[] {
    if (this.tree.size === 0) return [];
    const max = retransmitLimit(this.retransmitMult, this.numNodes());
    const taken: Entry[] = [];
    let free = limit;
    // Walking the order and skipping what does not fit costs the whole queue once the
    // packet is nearly full. Within one transmit count the order is longest first, so
    // memberlist seeks instead: to the first entry of this count that still fits (a
    // probe with this count, the room left and an id above any real one), and to the
    // next count when this one has nothing that fits. Each seek takes an entry or moves
    // up a count: O((taken + counts) log n), the same entries in the same order.
    let transmits = (this.tree.minKey() as Entry).transmits;
    let last: Entry | undefined;
    // No memberlist message is shorter than a few bytes: stop once nothing can fit.
    while (free > overhead + 4) {
      const room = free - overhead;
      // Taken entries stay in the tree until the end: never seek to or before the last one.
      const from: SortKey = last && last.transmits === transmits && last.size <= room ? last : { transmits, size: room, id: Infinity };
      const e = this.tree.nextHigherKey(from) as Entry | undefined;
      if (!e) break;
      if (e.transmits !== transmits) {
        transmits = e.transmits;
        continue;
      }
      free -= e.size + overhead;
      taken.push(e);
      last = e;
    }
    // The order depends on the transmit count: take each out before counting it.
    for (const e of taken) {
      this.tree.delete(e);
      e.transmits++;
      if (e.transmits < max) this.tree.set(e, true);
      else {
        this.byKey.delete(e.key);
        e.onDone?.('transmitted');
      }
    }
    return taken.map((e) => e.message);
  }

  /** forget everything (on stop); pending onDone callbacks see 'dropped' */
  reset(): void {
    const all = [...this.tree.keys()] as Entry[];
    this.tree.clear();
    this.byKey.clear();
    for (const e of all) e.onDone?.('dropped');
  }

  private remove(e: Entry): void {
    this.tree.delete(e);
    if (this.byKey.get(e.key) === e) this.byKey.delete(e.key);
  }

  /** the most-sent, then smallest, then oldest entry goes first */
  private dropLast(): void {
    const e = this.tree.maxKey() as Entry;
    this.remove(e);
    this.dropped++;
    e.onDone?.('dropped');
  }
}

/** fill `limit` bytes: memberlist's own broadcasts first, then user broadcasts when more than 3 bytes are left */
export function takeGossip(system: BroadcastQueue, user: BroadcastQueue, limit: number): Uint8Array[] {
  const sys = system.take(2, limit);
  const used = sys.reduce((n, m) => n + m.length + 2, 0);
  return limit - used <= 3 ? sys : [...sys, ...user.take(2, limit - used)];
}
