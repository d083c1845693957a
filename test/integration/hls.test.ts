/** HLS and LL-HLS with the default 200 ms chunks: one part per chunk (the checks are in hls-suite.ts). */
import { defineHlsSuite } from './hls-suite.js';

defineHlsSuite();
