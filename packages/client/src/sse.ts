/**
 * Server-sent events read from a fetch body, so the SDK follows a stream with nothing but fetch
 * (EventSource cannot send a bearer token). Parsing follows the WHATWG event-stream rules: lines
 * end in CRLF, LF or CR; `data` lines join with LF; a blank line dispatches; `:` starts a comment.
 */

export interface ServerSentEvent {
  /** The `event` field; `message` when the server named none. */
  event: string;
  data: string;
}

export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = lineEnd(buffer, done);
        if (end === null) break;
        const line = buffer.slice(0, end.at);
        buffer = buffer.slice(end.at + end.length);
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const value = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      // An event not closed by a blank line when the stream ends is dropped, as the standard says.
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Where the first complete line of `buffer` ends. A CR at the very end of a chunk may be the
 * first half of a CRLF split across chunks, so it waits for the next chunk unless the stream is done.
 */
function lineEnd(buffer: string, done: boolean): { at: number; length: number } | null {
  const cr = buffer.indexOf('\r');
  const lf = buffer.indexOf('\n');
  if (cr === -1 && lf === -1) return null;
  if (cr === -1 || (lf !== -1 && lf < cr)) return { at: lf, length: 1 };
  if (cr === buffer.length - 1 && !done) return null;
  return { at: cr, length: buffer[cr + 1] === '\n' ? 2 : 1 };
}
