export * from './frames.js';
export * from './auth.js';
export * from './close-codes.js';
export * from './hub-link.js';
