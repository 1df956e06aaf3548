/**
 * Checks out a lease, keeps it while working, and releases it.
 *
 *   LICENSEPOOL_URL=http://localhost:3000 LICENSEPOOL_TOKEN=… MEMBER_ID=mem_… METER=seats \
 *     npx tsx examples/checkout.ts
 *
 * Optional: WORK_SECONDS (default 30), TTL_SECONDS (default 60). Ctrl-C releases early.
 * The SDK renews the lease on its own; if the server ends it (checked in by a manager,
 * revoked, expired), the work stops.
 */
import { ClaimRefusedError, createClient, LicensepoolError, type LeaseEnd } from '@licensepool/client';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    console.error(`set ${name} (see the top of examples/checkout.ts)`);
    process.exit(2);
  }
  return value;
}

const client = createClient({
  baseUrl: env('LICENSEPOOL_URL', 'http://localhost:3000'),
  token: env('LICENSEPOOL_TOKEN'),
  onError: (error, { operation }) => console.warn(`(${operation}: ${error instanceof Error ? error.message : String(error)}; retrying)`),
});
const workSeconds = Number(env('WORK_SECONDS', '30'));

let lease;
try {
  lease = await client.checkout({
    memberId: env('MEMBER_ID'),
    meter: env('METER'),
    ttlSeconds: Number(env('TTL_SECONDS', '60')),
    fingerprint: 'examples/checkout.ts',
  });
} catch (error) {
  if (error instanceof ClaimRefusedError) {
    console.error('refused:');
    for (const reason of error.reasons) console.error(`  ${reason.code} ${JSON.stringify(reason)}`);
    process.exit(1);
  }
  if (error instanceof LicensepoolError) {
    console.error(`failed: ${error.code} (${error.status ?? 'no answer'}): ${error.detail}`);
    process.exit(1);
  }
  throw error;
}
console.log(`checked out ${lease.id}: ${lease.claim.quantity} × ${lease.claim.meter}, renewed every ${lease.claim.ttlSeconds! / 3} s`);

// Work until done, interrupted, or the lease ends under us — whichever comes first.
const interrupted = new Promise<'interrupted'>((resolve) => process.once('SIGINT', () => resolve('interrupted')));
const done = new Promise<'done'>((resolve) => setTimeout(() => resolve('done'), workSeconds * 1000));
const outcome: 'done' | 'interrupted' | LeaseEnd = await Promise.race([done, interrupted, lease.ended]);

if (typeof outcome === 'object') {
  console.error(`the lease ended while working: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`);
  process.exit(1);
}
await lease.release();
console.log(`${outcome === 'done' ? 'work done' : 'interrupted'}; released ${lease.id}`);
process.exit(0);
