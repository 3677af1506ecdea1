/**
 * E-mail through the configured SMTP server (nodemailer): plain text plus a small HTML part,
 * UTF-8 subject. A refusal by the server (4xx/5xx reply) or a connection failure is a failed
 * delivery; the outbox retries it.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelMessage } from '../message.js';
import { DeliveryError, type Channel } from './types.js';

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  from: string;
  username?: string;
  password?: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function emailChannel(c: { id: string; to: string[] }, smtp: SmtpConfig): Channel {
  let transport: Transporter | undefined;
  const get = () => (transport ??= nodemailer.createTransport({
    host: smtp.host, port: smtp.port, secure: smtp.secure,
    ...(smtp.username ? { auth: { user: smtp.username, pass: smtp.password ?? '' } } : {}),
    // a local relay without TLS is common on estates' LANs; STARTTLS is used when offered
    ignoreTLS: false, requireTLS: false, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000,
  }));
  return {
    id: c.id, type: 'email',
    async send(m: ChannelMessage, { timeoutMs, deliveryId }) {
      const html = `<div style="font-family:sans-serif"><h3>${escapeHtml(m.title)}</h3><pre style="font-family:inherit">${escapeHtml(m.text.split('\n').slice(1).join('\n'))}</pre></div>`;
      const sending = get().sendMail({
        from: smtp.from, to: c.to, subject: m.title, text: m.text, html,
        headers: { 'X-Gateway-Event': m.event, 'X-Gateway-Delivery': deliveryId, 'X-Gateway-Alert': m.alert.id },
      });
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([sending, new Promise((_, rej) => { timer = setTimeout(() => rej(new DeliveryError(`timeout after ${timeoutMs} ms`)), timeoutMs); })]);
      } catch (err) {
        if (err instanceof DeliveryError) throw err;
        const e = err as Error & { responseCode?: number };
        throw new DeliveryError(`smtp: ${e.message}`, e.responseCode ?? null);
      } finally {
        clearTimeout(timer);
      }
      return { status: 250 };
    },
    async close() { transport?.close(); },
  };
}
