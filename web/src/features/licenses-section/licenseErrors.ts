import { isProblem } from '../../api/problem';

type Named = readonly { key: string; name: string }[];

/**
 * A refusal of a license's terms as messages by form field (`limits.sip`, `features`,
 * `validUntil`, `name`): the API's field `errors`, and the `violations` of the rules that name a
 * meter or feature rather than a body path (docs/architecture.md, "Licenses placed on pools"):
 * LIMIT_EXCEEDS_PARENT at the meter, DRAWN_METER_TOO_LOW at the meter drawn on, FEATURE_NOT_IN_PARENT
 * at the features, VALIDITY_OUTSIDE_PARENT at the end date.
 */
export function licenseFieldErrors(error: unknown, meters: Named, features: Named): Record<string, string> {
  if (!isProblem(error)) return {};
  const byField = error.fieldErrors();
  const name = (items: Named, key: string) => items.find((i) => i.key === key)?.name ?? key;
  const violations = Array.isArray(error.extras.violations) ? (error.extras.violations as Record<string, unknown>[]) : [];
  const add = (field: string, message: string) => {
    byField[field] = byField[field] ? `${byField[field]}; ${message}` : message;
  };
  for (const v of violations) {
    if (error.code === 'DRAWN_METER_TOO_LOW') {
      const meter = name(meters, String(v.meter));
      add(`limits.${String(v.drawnMeter)}`, `must be at least ${String(v.limit)}, the number of ${meter}: each of them takes one of these`);
    } else if (v.code === 'LIMIT_EXCEEDS_PARENT') {
      add(`limits.${String(v.meter)}`, `${String(v.limit)} is more than the parent pool has (${String(v.parentLimit)})`);
    } else if (v.code === 'FEATURE_NOT_IN_PARENT') {
      add('features', `${name(features, String(v.feature))}: the parent pool does not have this feature`);
    } else if (v.code === 'VALIDITY_OUTSIDE_PARENT') {
      const what = v.meter ? name(meters, String(v.meter)) : name(features, String(v.feature));
      add('validUntil', `the parent pool has ${what} only until ${new Date(String(v.parentUntil)).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`);
    }
  }
  return byField;
}

/** The fields the license form shows messages at (the rest go to the alert above it). */
export const licenseFormFields = (meters: Named) => ['name', 'limits', 'features', 'validFrom', 'validUntil', ...meters.map((m) => `limits.${m.key}`)];
