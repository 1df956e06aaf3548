/** The event-stream reader waitInQueue follows tickets with: however the bytes arrive, the same events. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readServerSentEvents, type ServerSentEvent } from '../../packages/client/src/sse.js';

async function eventsOf(chunks: string[]): Promise<ServerSentEvent[]> {
  const bytes = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(bytes.encode(c));
      controller.close();
    },
  });
  const events: ServerSentEvent[] = [];
  for await (const e of readServerSentEvents(body)) events.push(e);
  return events;
}

const STREAM = ': connected\n\nevent: ticket\ndata: {"position":2}\n\nevent: ticket\ndata: {"position":1}\n\n';
const EXPECTED = [
  { event: 'ticket', data: '{"position":2}' },
  { event: 'ticket', data: '{"position":1}' },
];

test('events come out whole however the stream is cut, with LF, CRLF or CR line ends', async () => {
  for (const stream of [STREAM, STREAM.replaceAll('\n', '\r\n'), STREAM.replaceAll('\n', '\r')]) {
    assert.deepEqual(await eventsOf([stream]), EXPECTED);
    // One byte at a time: a CRLF split between two chunks is still one line end.
    assert.deepEqual(await eventsOf([...stream]), EXPECTED);
  }
});

test('data lines join with a newline; an unnamed event is a message; an unfinished last event is dropped', async () => {
  const events = await eventsOf(['data: first\ndata:second\nid: 7\nretry: 10\n\n', 'data: never finished\n']);
  assert.deepEqual(events, [{ event: 'message', data: 'first\nsecond' }]);
});

test('multi-byte characters split across chunks decode intact', async () => {
  const bytes = new TextEncoder().encode('event: ticket\ndata: {"meter":"sièges"}\n\n');
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const b of bytes) controller.enqueue(Uint8Array.of(b));
      controller.close();
    },
  });
  const events: ServerSentEvent[] = [];
  for await (const e of readServerSentEvents(body)) events.push(e);
  assert.deepEqual(events, [{ event: 'ticket', data: '{"meter":"sièges"}' }]);
});
