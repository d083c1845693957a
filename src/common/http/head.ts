/**
 * HEAD wherever GET exists: `withHead(app)` registers every GET route of the app for HEAD too, with a
 * response that sends the status and headers the GET would, and `Content-Length` of the body it would
 * have sent, but no body (RFC 9110 §9.3.2). Streaming answers (write, tryEnd) end at their headers, and
 * whatever the handler does with the response after that is a no-op.
 */
import type { RecognizedString } from 'uWebSockets.js';
import type { App, HttpResponse } from './uws-server.js';

function byteLength(body: RecognizedString | undefined): number {
  if (body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  return body.byteLength;
}

/** A response whose body is dropped: end() reports the length it would have sent. */
export function headResponse(res: HttpResponse): HttpResponse {
  let ended = false;
  // This uWebSockets.js build answers nothing when endWithoutBody() is given a length (and end() would send
  // the body, HEAD or not): the length goes out as a header of our own, then endWithoutBody() bare.
  const endOnce = (length: number | undefined) => {
    if (ended) return;
    ended = true;
    if (length !== undefined) res.writeHeader('content-length', String(length));
    res.endWithoutBody();
  };
  const proxy: HttpResponse = new Proxy(res, {
    get(target, prop, receiver) {
      if (prop === 'end')
        return (body?: RecognizedString) => {
          endOnce(byteLength(body));
          return proxy;
        };
      // A chunked answer: the headers are all HEAD gets; its length is unknown.
      if (prop === 'write')
        return () => {
          endOnce(undefined);
          return true;
        };
      if (prop === 'tryEnd')
        return (_body: RecognizedString, total: number) => {
          endOnce(total);
          return [true, true];
        };
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      // Ended: the handler may go on as if streaming (more writes, onWritable): all of it is a no-op.
      if (ended)
        return prop === 'cork'
          ? (cb: () => void) => {
              cb();
              return proxy;
            }
          : () => proxy;
      // Chained calls (res.writeStatus(…).writeHeader(…).end()) must stay on the proxy.
      return (...args: unknown[]) => {
        const out: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return out === target ? proxy : out;
      };
    },
  });
  return proxy;
}

/** The app, with every `get` also answering HEAD. */
export function withHead(app: App): App {
  const get = app.get.bind(app);
  const head = app.head.bind(app);
  return new Proxy(app, {
    get(target, prop, receiver) {
      if (prop !== 'get') {
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return (pattern: RecognizedString, handler: Parameters<App['get']>[1]) => {
        get(pattern, handler);
        head(pattern, (res, req) => handler(headResponse(res), req));
        return receiver as App;
      };
    },
  });
}
