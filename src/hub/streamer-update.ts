/**
 * The body of a channel update, as the dashboard (account API) and bots (remote API) send it: one schema,
 * so both ways of editing a channel accept exactly the same fields. The store checks the values again
 * (store/validate.ts, counting code points); this bounds what is parsed at all.
 */
import { z } from 'zod';
import { LIMITS } from './store/validate.js';

export const streamerUpdateSchema = z.strictObject({
  title: z.string().max(LIMITS.titleChars).optional(),
  description: z.string().max(LIMITS.descriptionChars).optional(),
  category: z.string().max(LIMITS.categoryChars).optional(),
  /** null removes the viewing password. */
  password: z.string().min(LIMITS.minPasswordChars).max(LIMITS.maxSecretChars).nullable().optional(),
  /** Whether and what the ingress records of the channel (issue 15); null: the ingress's own setting. */
  recording: z.enum(['off', 'all', 'source', 'top-and-lowest']).nullable().optional(),
});

export type StreamerUpdate = z.infer<typeof streamerUpdateSchema>;
