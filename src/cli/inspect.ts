// `rxswim agent --inspect URL`: stream every member actor's inspection events to a
// Stately inspector over WebSocket (for example `createInspectorServer()` from
// `@statelyai/inspect/server`, which bridges them to the inspector UI in a browser).
import { createWebSocketInspector } from '@statelyai/inspect';
import type { MachineContext } from 'xstate';
import { addrToString } from '../membership/address.js';
import { decodeTags } from '../membership/tags.js';

/**
 * The inspector serializes snapshots through JSON before we see them, which turns a
 * Uint8Array into `{"0":127,"1":0,…}`; take either form back to bytes.
 */
function bytesOf(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const vals = Object.entries(v as Record<string, unknown>);
  if (!vals.every(([k, x], i) => k === String(i) && typeof x === 'number')) return undefined;
  return Uint8Array.from(vals.map(([, x]) => x as number));
}

/** Byte fields as people read them: the address as text, vsn as numbers, tags decoded. */
function readableContext(ctx: MachineContext): MachineContext {
  const c = ctx as Record<string, unknown>;
  const out: Record<string, unknown> = { ...c };
  const addr = bytesOf(c.addr);
  const vsn = bytesOf(c.vsn);
  const meta = bytesOf(c.meta);
  if (addr) out.addr = addrToString(addr);
  if (vsn) out.vsn = [...vsn];
  if (meta) out.meta = decodeTags(meta) ?? Buffer.from(meta).toString('base64');
  return out;
}

/** Rewrite contexts (and an init event's input, which is the initial context) readably. */
function readableEvent<T>(ev: T): T {
  const e = ev as { snapshot?: { context?: MachineContext }; event?: { input?: MachineContext } };
  const out = { ...e } as typeof e;
  if (e.snapshot?.context) out.snapshot = { ...e.snapshot, context: readableContext(e.snapshot.context) };
  if (e.event?.input && typeof e.event.input === 'object') out.event = { ...e.event, input: readableContext(e.event.input) };
  return out as T;
}

export function createAgentInspector(url: string) {
  // `serialize` runs on every event just before it is sent (sanitizeContext does not
  // reach snapshot events in @statelyai/inspect 0.7).
  const inspector = createWebSocketInspector({ url, serialize: readableEvent });
  return { inspect: inspector.inspect, stop: () => inspector.stop() };
}
