export { memberMachine } from './member.js';
export type { MemberContext, MemberEmitted, MemberEvent, MemberInfo, MemberInput, Suspicion } from './member.js';
