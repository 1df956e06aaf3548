/**
 * The license certificate (L9): one A4 page with the key, the pool (location), modules, limits,
 * term and issue date, drawn with pdfkit in the PDF standard fonts (Helvetica, Courier), so no
 * font file ships. Pure: data in, bytes out; no I/O.
 */
import type { PostalAddress } from '../../db/schema.js';
import { DEFAULT_CONNECTION_THRESHOLD } from '../../domain/license-status.js';
import type { LicenseRow } from '../state/state.repo.js';
import type { LicenseSummary } from './licenses-detail.schemas.js';

export interface CertificateInput {
  license: LicenseRow;
  summary: LicenseSummary;
  location: PostalAddress | null;
  issuedAt: Date;
}

/** The code points WinAnsiEncoding (what the standard fonts speak) gives a glyph beyond Latin-1. */
const WIN_ANSI_EXTRA = new Set([...'€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ'].map((c) => c.codePointAt(0)!));

/** Letters with no decomposition to a base letter, read as people would write them in ASCII. */
const FALLBACK: Record<string, string> = {
  Ł: 'L', ł: 'l', Đ: 'D', đ: 'd', Ħ: 'H', ħ: 'h', ı: 'i', Ŀ: 'L', ŀ: 'l', Ŧ: 'T', ŧ: 't', Ŋ: 'N', ŋ: 'n', ĸ: 'k', ſ: 's',
  Ə: 'E', ə: 'e', Ɛ: 'E', ɛ: 'e', ȷ: 'j', ĳ: 'ij', Ĳ: 'IJ',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2015': '-', '\u2212': '-', '\u2032': "'", '\u2033': '"', '\u2044': '/',
  '\u2007': ' ', '\u2009': ' ', '\u202F': ' ',
};

const encodable = (cp: number) => (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) || WIN_ANSI_EXTRA.has(cp);

/**
 * Text the standard fonts can draw. They know only WinAnsiEncoding (Latin-1 and a few more):
 * pdfkit would draw anything else as garbage. What WinAnsi has is kept ("Zürich", "é", "€");
 * letters that decompose to a base letter and marks lose the marks ("ź" → "z"); a few letters
 * without a decomposition have an ASCII reading ("Ł" → "L", so "Łódź" → "Lódz"); anything else
 * (CJK, emoji) becomes "?"; control characters become spaces.
 */
export function toWinAnsi(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (encodable(cp)) out += ch;
    else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) out += ' ';
    else if (FALLBACK[ch] !== undefined) out += FALLBACK[ch];
    else {
      const base = ch.normalize('NFKD').replace(/\p{M}/gu, '');
      out += base.length > 0 && [...base].every((c) => encodable(c.codePointAt(0)!)) ? base : '?';
    }
  }
  return out;
}

const day = (d: Date | string | null) => (d ? new Date(d).toISOString().slice(0, 10) : null);
const units = (n: number | null) => (n === null ? 'no limit of its own' : n.toLocaleString('en-US'));
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "36 months (3 years)", or null when the license has no term (dated by its end alone). */
export function termText(termMonths: number | null): string | null {
  if (termMonths === null) return null;
  const years = termMonths % 12 === 0 ? ` (${plural(termMonths / 12, 'year', 'years')})` : '';
  return `${plural(termMonths, 'month', 'months')}${years}`;
}

/** The certificate's file name: the key (or the id of a license without one). */
export function certificateFileName(license: Pick<LicenseRow, 'id' | 'key'>): string {
  return `license-${(license.key ?? license.id).replace(/[^A-Za-z0-9_-]/g, '')}.pdf`;
}

const MARGIN = 56;
const INK = '#1a1a1a';
const MUTED = '#666666';
const RULE = '#bbbbbb';

/** Renders the one-page certificate. */
export async function renderCertificate(input: CertificateInput): Promise<Buffer> {
  // Loaded on the first certificate, not at start-up: pdfkit costs ~0.3 s of CPU to import.
  const { default: PDFDocument } = await import('pdfkit');
  const { license, summary, location, issuedAt } = input;
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    // A page never runs over into a second: lists are cut to what fits (below).
    autoFirstPage: true,
    info: {
      Title: toWinAnsi(`License certificate ${license.key ?? license.id}`),
      Author: toWinAnsi(summary.vendor.name),
      Subject: 'License certificate',
      Creator: 'licensepool',
      CreationDate: issuedAt,
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const width = doc.page.width - 2 * MARGIN;
  const bottom = doc.page.height - MARGIN - 40; // room for the footer
  const text = (s: string) => toWinAnsi(s);

  const heading = (title: string) => {
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(11).fillColor(INK).text(text(title.toUpperCase()), { characterSpacing: 0.5 });
    const y = doc.y + 2;
    doc.moveTo(MARGIN, y).lineTo(MARGIN + width, y).lineWidth(0.5).strokeColor(RULE).stroke();
    doc.y = y + 6;
  };
  /** One "label: value" line, the label in a fixed column. */
  const field = (label: string, value: string) => {
    const y = doc.y;
    doc.font('Helvetica').fontSize(9.5).fillColor(MUTED).text(text(label), MARGIN, y, { width: 130 });
    doc.font('Helvetica').fontSize(9.5).fillColor(INK).text(text(value), MARGIN + 135, y, { width: width - 135 });
    doc.x = MARGIN;
    doc.y = Math.max(doc.y, y + 13);
  };

  // Vendor and title
  doc.font('Helvetica-Bold').fontSize(10).fillColor(MUTED).text(text(summary.vendor.name), { align: 'left' });
  doc.moveDown(0.2).font('Helvetica-Bold').fontSize(24).fillColor(INK).text('License certificate');
  if (license.name) doc.font('Helvetica').fontSize(12).fillColor(MUTED).text(text(license.name));

  // The key, large and grouped: what the customer types to activate it
  doc.moveDown(0.8);
  const boxTop = doc.y;
  doc.rect(MARGIN, boxTop, width, 62).lineWidth(1).strokeColor(INK).stroke();
  doc.font('Helvetica').fontSize(8.5).fillColor(MUTED).text('LICENSE KEY', MARGIN + 12, boxTop + 9, { characterSpacing: 1 });
  if (license.key) {
    doc.font('Courier-Bold').fontSize(22).fillColor(INK).text(license.key, MARGIN + 12, boxTop + 25, { width: width - 24, characterSpacing: 1 });
  } else {
    doc.font('Helvetica').fontSize(12).fillColor(INK).text('No activation key: placed straight on its pool', MARGIN + 12, boxTop + 28, { width: width - 24 });
  }
  doc.x = MARGIN;
  doc.y = boxTop + 62;

  // Location
  heading('Location');
  if (summary.pool) {
    field(summary.pool.bound ? 'Pool' : 'Meant for', `${summary.pool.name} (${summary.pool.kind})`);
    field('Pool id', summary.pool.id);
    if (location) {
      const lines = [location.line1, location.line2, `${location.postalCode} ${location.city}`, location.region, location.country].filter((l): l is string => !!l);
      field('Address', lines.join(', '));
    }
    if (!summary.pool.bound) field('', 'Not activated yet: the key binds it to the pool it is submitted for, for good.');
  } else {
    field('Pool', 'Not activated yet: the key binds it to the pool it is submitted for, for good.');
  }

  // Term
  heading('Term');
  const term = termText(summary.duration.termMonths);
  if (term) field('Term', term);
  const startRule =
    license.startRule === 'on_connections'
      ? `after ${license.connectionThreshold ?? DEFAULT_CONNECTION_THRESHOLD} distinct devices have connected to the pool`
      : 'on activation';
  field('Start', day(summary.start) ?? `not started: time starts ${startRule}`);
  field('End', day(summary.end) ?? (term ? `start + ${term}` : 'no end'));
  if (summary.billing) field('Billing', `${summary.billing.interval}, ${plural(summary.billing.contractYears, 'contract year', 'contract years')}`);
  field('Status', summary.status.replace(/_/g, ' '));
  const request = license.request;
  if (request?.partner) field('Partner / integrator', request.partner);
  if (request?.distributor) field('Distributor', request.distributor);

  // Modules: one paragraph, cut to what fits
  heading('Modules');
  const moduleNames = summary.modules.map((m) => (m.name === m.key ? m.key : `${m.name} (${m.key})`));
  let shown = moduleNames.length;
  const modulesText = (n: number) =>
    n === 0 && moduleNames.length === 0 ? 'None' : moduleNames.slice(0, n).join(', ') + (n < moduleNames.length ? `, and ${moduleNames.length - n} more` : '');
  doc.font('Helvetica').fontSize(9.5).fillColor(INK);
  while (shown > 0 && doc.heightOfString(text(modulesText(shown)), { width }) > 56) shown--;
  doc.text(text(modulesText(shown)), MARGIN, doc.y, { width });

  // Limits: a table, cut to what fits above the footer
  heading('Limits');
  const col = [MARGIN, MARGIN + width * 0.5, MARGIN + width * 0.78];
  const row = (cells: [string, string, string], font: string, color: string) => {
    const y = doc.y;
    doc.font(font).fontSize(9.5).fillColor(color);
    doc.text(text(cells[0]), col[0], y, { width: col[1]! - col[0]! - 8, lineBreak: false, ellipsis: true });
    doc.text(text(cells[1]), col[1], y, { width: col[2]! - col[1]! - 8, lineBreak: false, ellipsis: true });
    doc.text(text(cells[2]), col[2], y, { width: MARGIN + width - col[2]!, align: 'right', lineBreak: false });
    doc.x = MARGIN;
    doc.y = y + 14;
  };
  if (summary.limits.length === 0) {
    doc.font('Helvetica').fontSize(9.5).fillColor(INK).text('None');
  } else {
    row(['Meter', 'Key', 'Units'], 'Helvetica-Bold', MUTED);
    for (let i = 0; i < summary.limits.length; i++) {
      const l = summary.limits[i]!;
      if (doc.y + 28 > bottom && i < summary.limits.length - 1) {
        row([`and ${summary.limits.length - i} more (see the license in the API)`, '', ''], 'Helvetica-Oblique', MUTED);
        break;
      }
      row([l.name, l.meter, units(l.limit)], 'Helvetica', INK);
    }
  }

  // Footer: issue date and the license id
  const footerY = doc.page.height - MARGIN - 28;
  doc.moveTo(MARGIN, footerY - 6).lineTo(MARGIN + width, footerY - 6).lineWidth(0.5).strokeColor(RULE).stroke();
  doc
    .font('Helvetica')
    .fontSize(8.5)
    .fillColor(MUTED)
    .text(text(`Issued ${day(issuedAt)} by ${summary.vendor.name}. License ${license.id}.`), MARGIN, footerY, { width, lineBreak: false });
  doc.end();
  return done;
}
