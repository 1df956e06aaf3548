/**
 * SMTP through nodemailer: one pooled transport per process (connections kept open and reused,
 * at most `maxConnections`), from `SMTP_URL` (`smtp://user:pass@host:587`, `smtps://…:465`;
 * STARTTLS is used when the server offers it).
 */
import { createTransport } from 'nodemailer';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<id@domain>`: the same on every attempt, so a receiver can tell a repeated delivery. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message; throws otherwise. */
  send(mail: OutgoingMail): Promise<{ response: string }>;
  close(): void;
}

export function createMailer(smtpUrl: string, options: { maxConnections?: number } = {}): Mailer {
  const transport = createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 4,
    // A server that does not answer fails the attempt (and it is retried) instead of hanging it.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
  });
  return {
    async send(mail) {
      const info = await transport.sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: mail.headers ?? {},
      });
      if (info.rejected.length > 0) throw new Error(`the SMTP server refused ${info.rejected.join(', ')}: ${info.response}`);
      return { response: info.response };
    },
    close: () => transport.close(),
  };
}
