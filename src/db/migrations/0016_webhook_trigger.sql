-- N6: webhooks hear of more than mail does. Actions that mail nobody but a root's endpoints may
-- want (licensepool_webhook_action; WEBHOOK_ONLY_ACTIONS in src/modules/webhooks/webhooks.events.ts,
-- which a test compares) also become `notify` jobs, but only when the event's root has an
-- enabled endpoint: a root without webhooks pays no job for a member added or a license made
-- (a bulk import adds thousands). The mailing actions notify as before.
CREATE FUNCTION licensepool_webhook_action(action text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT action IN (
    'license.created', 'license.updated', 'member.added', 'member.removed', 'member.rejected',
    'pool.created', 'pool.updated', 'pool.activate', 'pool.suspend', 'pool.resume', 'pool.close',
    'device.registered', 'device.reported'
  )
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION licensepool_enqueue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT licensepool_notifying_action(NEW.action)
     AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE root_id = NEW.root_id AND enabled) THEN
    RETURN NULL;
  END IF;
  INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, dedupe_key, created_at, updated_at)
  VALUES ('job_' || split_part(NEW.id, '_', 2), 'notify', jsonb_build_object('eventId', NEW.id), 'queued', NEW.at, 0, 10, 'notify:' || NEW.id, NEW.at, NEW.at)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
--> statement-breakpoint
DROP TRIGGER audit_events_notify ON "audit_events";
--> statement-breakpoint
CREATE TRIGGER audit_events_notify AFTER INSERT ON "audit_events" FOR EACH ROW
  WHEN (licensepool_notifying_action(NEW.action) OR licensepool_webhook_action(NEW.action))
  EXECUTE FUNCTION licensepool_enqueue_notify();
