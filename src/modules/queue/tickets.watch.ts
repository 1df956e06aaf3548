/**
 * Ticket events for `GET /v1/tickets/{id}/events` (server-sent events). A ticket changes in
 * whichever process decides it, so every watching process polls the database; changes made in
 * this process are also announced at once, so its own watchers need not wait for the poll.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Deps } from '../../lib/context.js';
import { findTicketViews, type TicketView } from './tickets.repo.js';
import { ENDED_TICKET_STATUSES, presentTicket } from './tickets.schemas.js';

const changes = new EventEmitter();
changes.setMaxListeners(0);

/** Called after a commit that moved tickets: every watcher in this process reads again now. */
export function publishTicketChanges(): void {
  changes.emit('change');
}

/** How often watchers read their tickets, for changes made by other processes (and by the clock). */
const DEFAULT_POLL_MS = 1000;
/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

interface Watch {
  ticketId: string;
  stream: PassThrough;
  /** Status and position last sent: an event goes out when either changes. */
  sent: string;
  lastWriteAt: number;
}

export class TicketWatcher {
  readonly #deps: Deps;
  readonly #pollMs: number;
  readonly #watches = new Set<Watch>();
  #timer: NodeJS.Timeout | null = null;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  readonly #onChange = () => this.#refresh();

  constructor(deps: Deps, options: { pollMs?: number | undefined } = {}) {
    this.#deps = deps;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    changes.on('change', this.#onChange);
  }

  /**
   * A stream of `event: ticket` messages: the ticket now, then whenever its status or position
   * changes; it ends after the ticket has ended (claimed, lapsed, cancelled).
   */
  open(view: TicketView): PassThrough {
    const stream = new PassThrough();
    const watch: Watch = { ticketId: view.id, stream, sent: '', lastWriteAt: 0 };
    this.#send(watch, view);
    if (stream.writableEnded) return stream;
    this.#watches.add(watch);
    // The client went away, or the stream ended: stop watching.
    stream.on('close', () => this.#forget(watch));
    this.#timer ??= setInterval(() => this.#refresh(), this.#pollMs).unref();
    return stream;
  }

  /** Ends every stream (the server is closing) and stops watching. */
  close(): void {
    changes.off('change', this.#onChange);
    for (const watch of this.#watches) watch.stream.end();
    this.#watches.clear();
    this.#stopTimer();
  }

  #forget(watch: Watch): void {
    this.#watches.delete(watch);
    if (this.#watches.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Reads every watched ticket in one query; reads asked for meanwhile fold into one more. */
  #refresh(): void {
    if (this.#watches.size === 0) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        const watches = [...this.#watches];
        const views = new Map((await findTicketViews(this.#deps.db, [...new Set(watches.map((w) => w.ticketId))])).map((v) => [v.id, v]));
        for (const watch of watches) {
          const view = views.get(watch.ticketId);
          if (view && this.#watches.has(watch)) this.#send(watch, view);
        }
      } while (this.#readAgain && this.#watches.size > 0);
    })()
      .catch((err) => this.#deps.log.error({ err }, 'reading watched tickets failed'))
      .finally(() => {
        this.#reading = null;
      });
  }

  #send(watch: Watch, view: TicketView): void {
    if (watch.stream.writableEnded) return;
    const ticket = presentTicket(view, this.#deps.clock.now());
    const mark = `${ticket.status} ${ticket.position}`;
    const at = Date.now();
    if (mark !== watch.sent) {
      watch.sent = mark;
      watch.lastWriteAt = at;
      watch.stream.write(`event: ticket\ndata: ${JSON.stringify(ticket)}\n\n`);
    } else if (at - watch.lastWriteAt >= KEEP_ALIVE_MS) {
      watch.lastWriteAt = at;
      watch.stream.write(': keep-alive\n\n');
    }
    if (ENDED_TICKET_STATUSES.has(ticket.status)) {
      watch.stream.end();
      this.#forget(watch);
    }
  }
}
