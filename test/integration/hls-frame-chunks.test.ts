/**
 * HLS and LL-HLS with frame-sized chunks (`chunkDurationMs: 33`, the push path's frames): parts group them
 * to 200 ms, and every check of hls-suite.ts holds (a segment is its parts, blocking reloads, ffmpeg).
 */
import { defineHlsSuite } from './hls-suite.js';

defineHlsSuite({ chunkDurationMs: 33 });
