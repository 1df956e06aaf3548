import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_TEMPLATES, sampleVariables, TEMPLATE_EVENTS } from './templates.catalog.js';
import { checkTemplate, renderTemplate } from './templates.render.js';

test('every shipped template uses only its event’s variables and renders completely with the samples', () => {
  for (const event of TEMPLATE_EVENTS) {
    const { template } = EVENT_TEMPLATES[event];
    assert.deepEqual(checkTemplate(event, template), [], event);
    const mail = renderTemplate(template, sampleVariables(event));
    for (const part of [mail.subject, mail.text, mail.html]) assert.doesNotMatch(part, /\{\{|\}\}/, `${event}: ${part}`);
    assert.doesNotMatch(mail.subject, /\n/, event);
    assert.ok(mail.subject.startsWith('[Acme Access] '), `${event}: ${mail.subject}`);
    assert.match(mail.html, /^<!doctype html>/, event);
  }
});

test('the HTML part escapes every variable; subject and text take them as they are', () => {
  const t = { subject: 'To {{poolName}}\nnext line', text: '{{poolName}} & co', html: '<p title="{{poolName}}">{{poolName}}</p>' };
  const mail = renderTemplate(t, { poolName: `"Tom" & <Jerry>'s` });
  assert.equal(mail.subject, `To "Tom" & <Jerry>'s next line`, 'one line: no header injection');
  assert.equal(mail.text, `"Tom" & <Jerry>'s & co`);
  assert.equal(mail.html, '<p title="&quot;Tom&quot; &amp; &lt;Jerry&gt;&#39;s">&quot;Tom&quot; &amp; &lt;Jerry&gt;&#39;s</p>');
});

test('checks: syntax, unknown variables (also inside sections), partials, unescaped HTML', () => {
  const paths = (t: Parameters<typeof checkTemplate>[1]) => checkTemplate('license.expiring', t).map((e) => `${e.path}: ${e.message.split(';')[0]}`);
  assert.deepEqual(paths({ subject: '{{#daysLeft}}soon', text: 'ok {{daysLeft}}', html: '<b>{{endDate}}</b>' }), ['body.subject: not a valid template: Unclosed section "daysLeft" at 17']);
  assert.deepEqual(paths({ text: '{{#endDate}}{{secret}}{{/endDate}}' }), ['body.text: unknown variable {{secret}}']);
  assert.deepEqual(paths({ text: '{{constructor}} {{__proto__}}' }), ['body.text: unknown variable {{constructor}}', 'body.text: unknown variable {{__proto__}}']);
  assert.deepEqual(paths({ html: '{{> header}}' }), ['body.html: partials ({{> header}}) are not available']);
  assert.deepEqual(paths({ html: '{{{poolName}}} {{&endDate}}' }), [
    'body.html: {{{poolName}}} and {{&poolName}} insert unescaped HTML',
    'body.html: {{{endDate}}} and {{&endDate}} insert unescaped HTML',
  ]);
  assert.deepEqual(paths({ text: '{{{poolName}}} is fine in text' }), []);
});
