/**
 * Graceful shutdown that answers every request already sent (docs/architecture.md "Shutdown").
 *
 * Two things lose requests when a busy server closes at once, and both are worst on the embedded
 * database, whose queries run on the event loop and make each turn of it long:
 * - Node accepts about one waiting connection per turn of the event loop, so under load many
 *   connections wait in the kernel's accept queue, their requests already sent. Closing the
 *   listener resets them (ECONNRESET).
 * - `server.close()` (and so Fastify's `close()`) destroys every keep-alive connection with no
 *   request in progress as far as the server has read; a request written but not yet read is
 *   lost with it.
 * So shutdown drains first:
 * 1. every answer from now on, and every one in progress, carries `Connection: close`, so each
 *    connection ends right after an answer, the one moment a client never loses a request;
 * 2. the listener keeps accepting until the accept queue is empty (no new connection for a few
 *    turns of the event loop and `QUIET_MS`; at most `DRAIN_MAX_MS`), then stops: later clients
 *    get ECONNREFUSED, a refusal before anything was sent;
 * 3. it waits until every connection has ended, or every request read has begun its answer
 *    (streams such as ticket events are ended by the app's close) and the idle connections had
 *    `idleMs` to send a last request;
 * then the app closes as usual (idle connections left are closed, later requests get 503). A
 * load balancer should stop sending first: `/readyz` is the signal.
 */
import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

/** How long an idle keep-alive connection may still send a request once shutdown began. */
export const DRAIN_IDLE_MS = 1_000;
/** The longest the listener stays open for connections that keep coming. */
export const DRAIN_MAX_MS = 5_000;
/** The accept queue is taken as empty after this long, and `QUIET_TURNS` turns of the event loop, without a new connection. */
const QUIET_MS = 100;
const QUIET_TURNS = 3;
const POLL_MS = 20;
/**
 * The longest the drain waits for answers after the listener closed: a request stuck longer (a
 * slow client, a lock held elsewhere) must not use up the whole grace period, which also has to
 * stop the job runner and close the database cleanly.
 */
export const DRAIN_ANSWER_MAX_MS = 2_500;

export interface ConnectionDrain {
  /** Answers what was sent and ends the connections (see above); resolves when the app may close. */
  drain(idleMs?: number): Promise<void>;
}

/** Follows `server`'s connections and requests from now on (call before it listens). */
export function followConnections(server: Server): ConnectionDrain {
  const sockets = new Set<Socket>();
  const inProgress = new Set<ServerResponse>();
  let accepted = 0;
  let lastAcceptedAt = 0;
  let draining = false;
  const closeAfter = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  server.on('connection', (socket: Socket) => {
    accepted++;
    lastAcceptedAt = Date.now();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (_req, res: ServerResponse) => {
    inProgress.add(res);
    res.once('close', () => inProgress.delete(res));
    if (draining) closeAfter(res);
  });
  return {
    async drain(idleMs = DRAIN_IDLE_MS) {
      draining = true;
      for (const res of inProgress) closeAfter(res);
      const started = Date.now();
      let seen = accepted;
      let quietTurns = 0;
      while (server.listening && Date.now() - started < DRAIN_MAX_MS) {
        await nextTurn();
        if (accepted !== seen) {
          seen = accepted;
          quietTurns = 0;
        } else if (++quietTurns >= QUIET_TURNS && Date.now() - Math.max(lastAcceptedAt, started) >= QUIET_MS) {
          break;
        }
      }
      // The listening socket only: `server.close()` would also destroy the idle connections.
      if (server.listening) NetServer.prototype.close.call(server);
      const closedAt = Date.now();
      // An answer whose headers are out is being sent, or is a stream (ticket events) that the
      // app's own close ends: only answers not begun are waited for.
      const unanswered = () => [...inProgress].some((res) => !res.headersSent);
      while (sockets.size > 0 && Date.now() - closedAt < DRAIN_ANSWER_MAX_MS && (unanswered() || Date.now() - closedAt < idleMs)) await sleep(POLL_MS);
    },
  };
}
