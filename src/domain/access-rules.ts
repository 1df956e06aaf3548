/**
 * R1, access rules [004]: which accounts a pool admits, by e-mail address and domain.
 *
 * On one pool: an e-mail rule matching the address decides (an exclude wins over an include
 * naming the same address); otherwise, if the pool has domain include rules, the address's
 * domain must match one of them, and a matching domain exclude denies. A domain rule matches the
 * domain itself and its subdomains (`example.com` matches `eu.example.com`). The rules of every
 * pool on the path apply: the account is admitted only if every pool admits it.
 */
export interface AccessRule {
  id: string;
  poolId: string;
  effect: 'include' | 'exclude';
  match: 'domain' | 'email';
  value: string;
}

export type AccessVerdict = { allowed: true } | { allowed: false; poolId: string; ruleId: string | null; reason: string };

const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();
const domainMatches = (domain: string, rule: string) => domain === rule || domain.endsWith(`.${rule}`);

function judgeOnPool(poolId: string, rules: readonly AccessRule[], email: string): AccessVerdict {
  const address = email.toLowerCase();
  const byEmail = rules.filter((r) => r.match === 'email' && r.value.toLowerCase() === address);
  if (byEmail.length > 0) {
    const exclude = byEmail.find((r) => r.effect === 'exclude');
    return exclude ? { allowed: false, poolId, ruleId: exclude.id, reason: `the address ${email} is excluded` } : { allowed: true };
  }
  const domain = domainOf(email);
  const includes = rules.filter((r) => r.match === 'domain' && r.effect === 'include');
  if (includes.length > 0 && !includes.some((r) => domainMatches(domain, r.value.toLowerCase()))) {
    return { allowed: false, poolId, ruleId: null, reason: `the domain ${domain} is not among the included domains` };
  }
  const exclude = rules.find((r) => r.match === 'domain' && r.effect === 'exclude' && domainMatches(domain, r.value.toLowerCase()));
  if (exclude) return { allowed: false, poolId, ruleId: exclude.id, reason: `the domain ${domain} is excluded` };
  return { allowed: true };
}

/** Judges an account's e-mail against the rules of every pool on its path (root first). */
export function judgeAccess(path: readonly string[], rules: readonly AccessRule[], email: string): AccessVerdict {
  for (const poolId of path) {
    const verdict = judgeOnPool(poolId, rules.filter((r) => r.poolId === poolId), email);
    if (!verdict.allowed) return verdict;
  }
  return { allowed: true };
}
