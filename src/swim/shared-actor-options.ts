// XState's Actor keeps the options it was created with as `actor.options`, built as
// `{ ...defaultOptions, ...options }`. V8 gives every object made that way its own
// hidden class whenever `options` has a property (Node 20: none of 100 such objects
// shared one), and a hidden class with its descriptors costs more than the object:
// about 380 bytes per member actor, 15 % of a member's heap (bench/member-heap.ts:
// 2,587 -> 2,208 B). After the constructor, XState reads only `input` and `devTools`
// from it (checked against the installed XState by test/unit/shared-actor-options.test.ts),
// so all members can hold one object with the same values instead.
import type { AnyActorRef } from 'xstate';

/** the options XState reads from `actor.options` once the actor is constructed */
export const OPTIONS_READ_AFTER_CONSTRUCTION: readonly string[] = ['input', 'devTools'];

/**
 * Replaces `actor.options` with `shared`, made once from the first actor's own options
 * without the ones only the constructor reads (`snapshot`, `input`). Every actor given
 * the same holder must have been created with the same parent and logic.
 */
export function shareActorOptions(actor: AnyActorRef, holder: { shared?: object }): void {
  const a = actor as unknown as { options: Record<string, unknown> };
  holder.shared ??= Object.freeze({ ...a.options, snapshot: undefined, input: undefined });
  a.options = holder.shared as Record<string, unknown>;
}
