/** Chat rules and limits shared by the edge (first hop) and the hub (authority). */
export * from './limits.js';
export * from './text.js';
