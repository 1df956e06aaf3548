/**
 * Mustache (mustache.js): logic-less templates, interpreted rather than compiled to code, so a
 * template a root writes can insert variables and show or hide parts, and nothing more: no
 * helpers, no function calls, no prototype walks (names are checked against the event's
 * variables before a template is kept or previewed). The HTML part escapes every variable, and
 * unescaped forms (`{{{x}}}`, `{{&x}}`) are refused there, so text from applicants and pool
 * names can never inject markup. The subject and the text part are plain text: nothing escaped.
 */
import Mustache from 'mustache';
import type { FieldError } from '../../lib/errors.js';
import { EVENT_TEMPLATES, type TemplateEvent, type TemplateText, type Variables } from './templates.catalog.js';

// A writer of our own without the parse cache: previews render arbitrary text, and mustache's
// global cache would keep every one of them for the life of the process.
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: unknown }).templateCache = undefined;

const plain = { escape: (value: unknown) => String(value) };

type Token = [string, string, number, number, Token[]?];

/** Every problem of `template` as field errors under `path` (e.g. `body.html`). */
function checkPart(event: TemplateEvent, template: string, path: string, html: boolean): FieldError[] {
  let tokens: Token[];
  try {
    tokens = writer.parse(template) as Token[];
  } catch (err) {
    return [{ path, message: `not a valid template: ${(err as Error).message}` }];
  }
  const known = EVENT_TEMPLATES[event].variables;
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const walk = (list: Token[]) => {
    for (const [type, value, , , children] of list) {
      if (type === 'text' || type === '!' || type === '=') continue;
      if (type === '>') {
        errors.push({ path, message: `partials ({{> ${value}}}) are not available` });
        continue;
      }
      if (!Object.hasOwn(known, value) && !seen.has(value)) {
        seen.add(value);
        errors.push({ path, message: `unknown variable {{${value}}}; ${event} has ${Object.keys(known).join(', ')}` });
      }
      if (html && type === '&') errors.push({ path, message: `{{{${value}}}} and {{&${value}}} insert unescaped HTML; use {{${value}}}` });
      if (children) walk(children);
    }
  };
  walk(tokens);
  return errors;
}

/** Checks a template's parts for an event; empty when it can be kept. */
export function checkTemplate(event: TemplateEvent, t: Partial<TemplateText>, at = 'body'): FieldError[] {
  return [
    ...(t.subject !== undefined ? checkPart(event, t.subject, `${at}.subject`, false) : []),
    ...(t.text !== undefined ? checkPart(event, t.text, `${at}.text`, false) : []),
    ...(t.html !== undefined ? checkPart(event, t.html, `${at}.html`, true) : []),
  ];
}

/**
 * Renders a (checked) template with `variables`: the subject on one line, the text as it is, the
 * HTML with every variable escaped. A variable the template names but `variables` lacks renders
 * empty.
 */
export function renderTemplate(t: TemplateText, variables: Variables): TemplateText {
  const view = { ...variables };
  return {
    subject: writer.render(t.subject, view, {}, plain).replace(/\s+/g, ' ').trim(),
    text: writer.render(t.text, view, {}, plain),
    html: writer.render(t.html, view, {}),
  };
}
