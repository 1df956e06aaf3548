-- The transactional outbox (docs/notifications.md): every audit event whose action notifies
-- enqueues a `notify` job in the same transaction, so the intent to tell people commits (or
-- rolls back) with the change itself. A trigger, not the writers, so no code path can forget it.
-- The job's id is the event's own suffix under the `job` prefix: one job per event, and a second
-- insert for the same event does nothing.
--
-- The actions listed here are the keys of RESOLVERS in src/modules/notifications/events.ts
-- (test/http/notifications.test.ts checks that both name the same). To add actions, replace this
-- function with CREATE OR REPLACE in a new migration.
CREATE FUNCTION licensepool_notifying_action(action text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT action IN (
    'application.received', 'application.approved', 'application.rejected', 'pool.opened',
    'member.verified', 'ticket.held', 'pool.limit_reached',
    'license.activated', 'license.started', 'license.suspend', 'license.resume', 'license.finalize', 'license.expired'
  )
$$;
--> statement-breakpoint
CREATE FUNCTION licensepool_enqueue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, dedupe_key, created_at, updated_at)
  VALUES ('job_' || split_part(NEW.id, '_', 2), 'notify', jsonb_build_object('eventId', NEW.id), 'queued', NEW.at, 0, 10, 'notify:' || NEW.id, NEW.at, NEW.at)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_notify AFTER INSERT ON "audit_events" FOR EACH ROW
  WHEN (licensepool_notifying_action(NEW.action)) EXECUTE FUNCTION licensepool_enqueue_notify();
