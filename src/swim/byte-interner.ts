// One shared copy of byte strings that many members carry alike. In a cluster nearly
// every member has the same protocol versions (6 bytes) and often the same metadata
// (Serf's tags), yet each decoded record brings fresh Uint8Arrays: ~200 bytes of heap
// apiece (the view and its buffer), two per member. The member actors keep the interned
// copy instead. Nothing writes into a member's bytes after decoding (the codec copies
// what it reads and encodes what it is given), which is what makes sharing them safe.

/** longer strings are kept as they are: rarely repeated, and costlier to key */
const MAX_INTERNED_LENGTH = 64;
/** distinct values kept; past it the table starts over (a cap, not an LRU: a cluster has few) */
const MAX_ENTRIES = 4096;

export class ByteInterner {
  private readonly table = new Map<string, Uint8Array>();

  /** an equal array already seen, or `bytes` itself (now the one handed out) */
  intern(bytes: Uint8Array): Uint8Array {
    if (bytes.length > MAX_INTERNED_LENGTH) return bytes;
    const key = String.fromCharCode.apply(null, bytes as unknown as number[]);
    const known = this.table.get(key);
    if (known) return known;
    if (this.table.size >= MAX_ENTRIES) this.table.clear();
    this.table.set(key, bytes);
    return bytes;
  }

  get size(): number {
    return this.table.size;
  }
}
