/**
 * Chat name colours. Defaults come from a hash of the name over a palette of mid-tone colours that stay
 * readable on both the light and the dark theme; /color accepts #rrggbb or one of the named colours.
 */

/** Named colours for /color; also the palette default colours are drawn from. */
export const NAMED_COLORS: Readonly<Record<string, string>> = {
  red: '#e05252',
  orange: '#e8883a',
  gold: '#c9a227',
  green: '#4caf50',
  teal: '#26a69a',
  cyan: '#29b6f6',
  blue: '#5c7cfa',
  purple: '#9c6ade',
  pink: '#e064a8',
  brown: '#a1887f',
  gray: '#90a4ae',
};

const PALETTE: readonly string[] = Object.values(NAMED_COLORS);

/** FNV-1a over the lower-cased name: the same name gets the same colour on every node and after a restart. */
export function defaultColor(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of name.toLowerCase()) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return PALETTE[h % PALETTE.length] ?? '#90a4ae';
}

/** A /color argument as a normalised #rrggbb, or undefined if it is neither a hex colour nor a named one. */
export function parseColor(input: string): string | undefined {
  const s = input.trim().toLowerCase();
  if (/^#[0-9a-f]{6}$/.test(s)) return s;
  if (s === 'grey') return NAMED_COLORS.gray;
  return Object.hasOwn(NAMED_COLORS, s) ? NAMED_COLORS[s] : undefined;
}

export function colorNames(): string[] {
  return Object.keys(NAMED_COLORS);
}
