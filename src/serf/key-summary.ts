// The asking side of Serf's key queries (serf/keymanager.go streamKeyResp and
// handleKeyRequest): each member's answer is counted, failures keep their member's
// message, and a list adds up how many members hold each key. Collecting stops once
// every member counted at the start has answered, or the query times out.
import { decodeNodeKeyResponse } from './key-queries.js';

/** Serf's KeyResponse, as JSON can carry it */
export interface ClusterKeyResult {
  /** members listed (us included) when the query was sent: Serf's NumNodes */
  numNodes: number;
  numResp: number;
  numErr: number;
  /** member → its message: every failure, and a success that said something (a cut list) */
  messages: Record<string, string>;
  /** list: base64 key → members holding it */
  keys: Record<string, number>;
  /** list: base64 primary key → members using it */
  primaryKeys: Record<string, number>;
}

export class KeyReplies {
  private readonly r: ClusterKeyResult;
  private readonly seen = new Set<string>();

  constructor(numNodes: number) {
    this.r = { numNodes, numResp: 0, numErr: 0, messages: {}, keys: {}, primaryKeys: {} };
  }

  /** one member's response payload (the query layer passes each member's once) */
  add(from: string, payload: Uint8Array): void {
    // Serf counts whatever arrives; the query layer already drops a second reply, and so do we.
    if (this.seen.has(from)) return;
    this.seen.add(from);
    const r = this.r;
    r.numResp++;
    const d = decodeNodeKeyResponse(payload);
    if (!d.ok) {
      // Serf's wording, with the bytes as Go's %v prints a []byte.
      const what = d.reason === 'unknown_type' ? 'Invalid key query response type' : 'Failed to decode key query response';
      r.messages[from] = `${what}: [${[...payload].join(' ')}]`;
      r.numErr++;
      return;
    }
    const resp = d.response;
    if (!resp.result) r.numErr++;
    if (!resp.result || resp.message.length > 0) r.messages[from] = resp.message;
    for (const k of resp.keys ?? []) r.keys[k] = (r.keys[k] ?? 0) + 1;
    // Serf also counts the empty primary key of answers that are not lists; that says nothing.
    if (resp.primaryKey !== '') r.primaryKeys[resp.primaryKey] = (r.primaryKeys[resp.primaryKey] ?? 0) + 1;
  }

  /** every member counted at the start has answered: stop waiting, as Serf does */
  get done(): boolean {
    return this.r.numResp >= this.r.numNodes;
  }

  result(): ClusterKeyResult {
    const r = this.r;
    return { ...r, messages: { ...r.messages }, keys: { ...r.keys }, primaryKeys: { ...r.primaryKeys } };
  }

  /** Serf's error for the whole operation, or undefined when every member succeeded */
  error(): string | undefined {
    const r = this.r;
    if (r.numErr !== 0) return `${r.numErr}/${r.numNodes} nodes reported failure`;
    if (r.numResp !== r.numNodes) return `${r.numResp}/${r.numNodes} nodes reported success`;
    return undefined;
  }
}
