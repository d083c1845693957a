/**
 * The player pages (/watch/NAME, /embed/NAME) say in their HTML what the edge already knows of the viewer's
 * access, so the page starts its media socket while its modules run instead of first asking the directory
 * whether the stream is protected (one API round trip before the first frame; ADR 0022). The hint only
 * saves that question: the socket, the manifest and the segments still check the access themselves.
 * Every page is also served in the viewer's language (page-catalogue.ts, ADR 0023) and theme: each
 * combination is one variant, made on first use.
 */
import type { AccessGate, ViewerCredentials } from './access-gate.js';
import { loadCatalogues, pageScripts, renderPage, withFallback, type Catalogues } from './page-catalogue.js';
import { DEFAULT_LANGUAGE, type Language } from './page-locale.js';
import { ServedFile } from './static-serve.js';

/** `open`: the stream is known to need no password; `unlocked`: it does, and this viewer holds a valid token. */
export type AccessHint = 'open' | 'unlocked';

/** null while the edge cannot tell (the page asks the directory, and shows the password form if needed). */
export function accessHint(gate: AccessGate, stream: string, viewer: ViewerCredentials): AccessHint | null {
  const p = gate.protection(stream);
  if (p === false) return 'open';
  return p === true && gate.access(stream, viewer) === 'allow' ? 'unlocked' : null;
}

/**
 * The pages as served: each in the viewer's language (page-catalogue.ts), with its access hint and theme.
 * Each variant is made once, on first use, with its own ETag and compressed copies.
 */
export class PlayerPages {
  private readonly variants = new Map<string, ServedFile>();
  private readonly catalogues: Catalogues;

  constructor(
    private readonly files: ReadonlyMap<string, ServedFile>,
    private readonly cacheDir?: string,
    catalogues: Catalogues = loadCatalogues(),
  ) {
    this.catalogues = withFallback(catalogues);
  }

  /**
   * `theme`: the viewer's chosen theme (the tc_theme cookie), set on <html> so the first paint has it;
   * `lang`: the language to serve the page in (page-locale.ts).
   */
  page(
    name: string,
    hint: AccessHint | null,
    theme: PageTheme | null = null,
    lang: Language = DEFAULT_LANGUAGE,
  ): ServedFile | undefined {
    const base = this.files.get(name);
    if (!base) return undefined;
    const key = `${name} ${hint ?? ''} ${theme ?? ''} ${lang}`;
    let f = this.variants.get(key);
    if (!f) {
      let body = this.localized(base.body, lang);
      if (hint) body = withAccessHint(body, hint);
      if (theme) body = withTheme(body, theme);
      f = new ServedFile(body, base.contentType, this.cacheDir);
      this.variants.set(key, f);
    }
    return f;
  }

  private localized(html: Buffer, lang: Language): Buffer {
    const catalogue = this.catalogues.get(lang);
    if (!catalogue) return html;
    const text = html.toString('utf8');
    const scripts = pageScripts(text).map((s) => this.files.get(s)?.body.toString('utf8') ?? '');
    return Buffer.from(renderPage(text, lang, catalogue, scripts));
  }
}

export type PageTheme = 'light' | 'dark';

/** The theme a request's cookies chose (`tc_theme`), or null for the system's. */
export function themeOf(cookieHeader: string): PageTheme | null {
  const m = /(?:^|;\s*)tc_theme=(light|dark)(?:;|$)/.exec(cookieHeader);
  return m ? (m[1] as PageTheme) : null;
}

/** The page with `data-theme` on its <html> element (a page without one, or with its own, is left as it is). */
export function withTheme(html: Buffer, theme: PageTheme): Buffer {
  const text = html.toString('utf8');
  const m = /<html\b[^>]*>/i.exec(text);
  // A page with a palette of its own (the embedded player, always on black) keeps it.
  if (!m || /\sdata-theme=/.test(m[0])) return html;
  const at = m.index + '<html'.length;
  return Buffer.from(`${text.slice(0, at)} data-theme="${theme}"${text.slice(at)}`);
}

export function withAccessHint(html: Buffer, hint: AccessHint): Buffer {
  const text = html.toString('utf8');
  const at = text.indexOf('</head>');
  if (at < 0) return html;
  return Buffer.from(
    `${text.slice(0, at)}  <meta name="tiercast-access" content="${hint}" />\n  ${text.slice(at)}`,
  );
}
