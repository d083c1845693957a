// hls.js's requests through the edge failover (http-failover.js): every attempt goes to the edge in use
// (xhrSetup opens the request there), and a request whose edge is gone is sent again to the next edge
// before hls.js hears of it. hls.js keeps its playlists, its buffer and its part numbers: it only ever
// sees its own URLs, as if this edge had answered.

/** @import { HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext } from 'hls.js' */
/** @import { NullableNetworkDetails } from 'hls.js' */
/** @import { EdgeFailover } from './http-failover.js' */

/**
 * The settings that route hls.js through `failover`, given hls.js's own loader (Hls.DefaultConfig.loader).
 * @param {HlsConfig['loader']} Base
 * @param {EdgeFailover} failover
 * @returns {Pick<HlsConfig, 'loader' | 'xhrSetup'>}
 */
export function edgeLoaderConfig(Base, failover) {
  /** @type {WeakMap<object, string>} the edge each XMLHttpRequest was sent to */
  const sentTo = new WeakMap();
  /** @param {NullableNetworkDetails} details */
  const edgeOf = (details) => (details && sentTo.get(details)) ?? failover.current();

  /** @implements {Loader<LoaderContext>} */
  class EdgeLoader {
    /** @param {HlsConfig} config */
    constructor(config) {
      this.config = config;
      /** @type {Loader<LoaderContext>} the request under way (a new one per edge) */
      this.inner = new Base(config);
      // hls.js keeps this object (frag.stats = loader.stats): every attempt reports into it.
      this.stats = this.inner.stats;
      /** @type {LoaderContext | null} */
      this.context = null;
      this.stopped = false;
    }

    /**
     * @param {LoaderContext} context
     * @param {LoaderConfiguration} config
     * @param {LoaderCallbacks<LoaderContext>} callbacks
     */
    load(context, config, callbacks) {
      this.context = context;
      let askedAgainAfterWarmUp = false;
      const again = () => {
        if (this.stopped) return;
        const stats = this.stats;
        stats.loading.start = stats.loading.first = stats.loading.end = 0;
        stats.loaded = 0;
        this.inner.destroy();
        this.inner = new Base(this.config);
        this.inner.stats = stats;
        this.inner.load(context, config, wrapped);
      };
      /** @param {string} base @param {number} status @param {() => void} report */
      const onTrouble = (base, status, report) => {
        void failover.failed(base, status).then((move) => (move ? again() : report()));
      };
      /** @type {LoaderCallbacks<LoaderContext>} */
      const wrapped = {
        ...callbacks,
        onSuccess: (response, stats, _ctx, details) => {
          const base = edgeOf(details);
          failover.ok(base);
          // hls.js resolves a playlist's URIs against the URL it answered from: keep it this edge's.
          const r = base === failover.own ? response : { ...response, url: context.url };
          callbacks.onSuccess(r, stats, context, details);
        },
        onError: (error, _ctx, details, stats) => {
          const base = edgeOf(details);
          // An edge just moved to may not have the stream yet (404) or not this far yet (400, "ahead").
          const early = error.code >= 400 && error.code < 500 && !askedAgainAfterWarmUp;
          const warm = early ? failover.warmed(base) : null;
          if (warm) {
            askedAgainAfterWarmUp = true;
            void warm.then(again);
            return;
          }
          onTrouble(base, error.code, () => callbacks.onError(error, context, details, stats));
        },
        onTimeout: (stats, _ctx, details) => {
          onTrouble(edgeOf(details), 0, () => callbacks.onTimeout(stats, context, details));
        },
      };
      this.inner.load(context, config, wrapped);
    }

    abort() {
      this.stopped = true;
      this.inner.abort();
    }

    destroy() {
      this.stopped = true;
      this.inner.destroy();
      this.context = null;
    }

    /** @returns {number | null} */
    getCacheAge() {
      return this.inner.getCacheAge?.() ?? null;
    }

    /** @param {string} name @returns {string | null} */
    getResponseHeader(name) {
      return this.inner.getResponseHeader?.(name) ?? null;
    }
  }

  return {
    loader: EdgeLoader,
    xhrSetup(xhr, url) {
      const base = failover.current();
      sentTo.set(xhr, base);
      xhr.open('GET', failover.rewrite(url, base), true);
    },
  };
}
