/** The hub's chat domain: transport-free; the hub's edge-link transport drives it and implements ChatOutput. */
export { ChatHub } from './chat-hub.js';
export { ChatError, DEFAULT_CHAT_LIMITS } from './types.js';
export type { ChatHubOptions, ChatLimits, ChatNoticeCode, ChatOutput, SessionInfo } from './types.js';
export { COMMANDS, helpText, parseInput } from './commands.js';
export type { Command, CommandLevel, CommandSpec, ParseResult } from './commands.js';
export type * from './events.js';
