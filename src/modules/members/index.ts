export { MembersService, memberNotFound, memberRef, toMember } from './members.service.js';
export type { Member, MemberStatus, CreateMemberInput, UpdateMemberInput, MemberListFilter } from './members.service.js';
