/** API times are ISO 8601 UTC strings; null stays null. */
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const DAY_MS = 86_400_000;
