/**
 * What the server needs once its database is open: the HTTP app and its modules, the background
 * jobs. main.ts imports this dynamically while PGlite starts, so that the two overlap (most of
 * the start-up time; README, "Start-up").
 */
export { buildApp } from './app.js';
export { followConnections } from './http/drain.js';
export { ensureFirstSuperuser } from './modules/accounts/accounts.service.js';
export { AuthCache } from './modules/auth/auth.cache.js';
export { serveQueues, sweepExpiredClaims } from './modules/claims/claims.engine.js';
export { JobRunner } from './modules/jobs/jobs.runner.js';
export { registerSweeps } from './modules/jobs/jobs.sweeps.js';
export { sealClearTextSigningKeys, unreadableSigningKeys } from './modules/signing/signing.secrets.js';
export { registerNotificationJobs } from './modules/notifications/notifications.jobs.js';
export { registerReminderJobs } from './modules/notifications/reminders.scan.js';
export { recordWebhookDeliveries, registerWebhookJobs } from './modules/webhooks/webhooks.jobs.js';
