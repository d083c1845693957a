/** The ingress's browser ingest socket (src/ingress/browser-ingest), which edges point the /broadcast page at. */
export const BROWSER_INGEST_PATH = '/publish/ws';
