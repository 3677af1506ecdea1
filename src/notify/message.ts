/**
 * The text of a channel message: what happened, where (site path and device name), the value
 * against the limit, since when (in the site's time zone), and a link to the alert in the
 * console. Crews read these on a phone in a DingTalk / WeCom / Feishu group or a mail client,
 * so the first line must say it all; Chinese by default (notify.language).
 */
import { DateTime } from 'luxon';

export type Language = 'zh-CN' | 'en';

/** the alert as the REST API and the webhooks show it (ISO times) */
export interface AlertView {
  id: string; rule: string; severity: string; status: string; deviceId: string; kind: string | null; site: string;
  metric: string | null; value: unknown; threshold: number | null; message: string;
  openedAt: string; lastSeenAt: string; occurrences: number;
  acknowledgedAt: string | null; acknowledgedBy: string | null; assignee: string | null;
  resolvedAt: string | null; resolvedBy: string | null; resolution: string | null;
}

export interface MessageContext {
  language: Language;
  /** e.g. https://estate.example.com/ — the alert link is `${consoleUrl}#/alerts/${id}` */
  consoleUrl?: string;
  deviceName?: string | null;
  /** IANA zone the times are shown in */
  timezone: string;
  /** the escalation step that sends it (0 = first), shown from step 1 on */
  step?: number;
}

export interface ChannelMessage {
  event: string;
  alert: AlertView;
  /** one line: severity, what, where */
  title: string;
  /** markdown (DingTalk, WeCom) */
  markdown: string;
  /** plain text (Feishu text messages, e-mail) */
  text: string;
  link: string | null;
}

const WORDS = {
  'zh-CN': {
    severity: { critical: '紧急', major: '重要', minor: '次要', warning: '提示' } as Record<string, string>,
    event: { 'alert.opened': '告警', 'alert.updated': '告警持续', 'alert.acknowledged': '已确认', 'alert.assigned': '已指派', 'alert.resolved': '已恢复', 'alert.escalated': '告警升级' } as Record<string, string>,
    where: '位置', device: '设备', value: '当前值', limit: '阈值', since: '开始时间', occurrences: '次数', by: '处理人', link: '查看', escalation: '升级第 {n} 级：无人确认',
    resolvedAt: '恢复时间', auto: '自动恢复',
  },
  en: {
    severity: { critical: 'CRITICAL', major: 'MAJOR', minor: 'MINOR', warning: 'WARNING' } as Record<string, string>,
    event: { 'alert.opened': 'Alert', 'alert.updated': 'Alert continues', 'alert.acknowledged': 'Acknowledged', 'alert.assigned': 'Assigned', 'alert.resolved': 'Resolved', 'alert.escalated': 'Escalated' } as Record<string, string>,
    where: 'Where', device: 'Device', value: 'Value', limit: 'Limit', since: 'Since', occurrences: 'Occurrences', by: 'By', link: 'Open', escalation: 'Escalation step {n}: not acknowledged',
    resolvedAt: 'Resolved at', auto: 'cleared by itself',
  },
} as const;

function when(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toFormat('yyyy-MM-dd HH:mm:ss ZZ');
}

export function formatMessage(event: string, alert: AlertView, ctx: MessageContext): ChannelMessage {
  const w = WORDS[ctx.language];
  const sev = w.severity[alert.severity] ?? alert.severity;
  const what = w.event[event] ?? event;
  const device = ctx.deviceName ? `${ctx.deviceName} (${alert.deviceId})` : alert.deviceId;
  const title = `[${sev}] ${what}: ${alert.message}`;
  const link = ctx.consoleUrl ? `${ctx.consoleUrl.replace(/\/?$/, '/')}#/alerts/${encodeURIComponent(alert.id)}` : null;
  const lines: Array<[string, string]> = [[w.where, alert.site || '—'], [w.device, device]];
  if (alert.value !== null && alert.value !== undefined) lines.push([w.value, `${String(alert.value)}${alert.metric ? ` (${alert.metric})` : ''}`]);
  if (alert.threshold !== null) lines.push([w.limit, String(alert.threshold)]);
  lines.push([w.since, when(alert.openedAt, ctx.timezone)]);
  if (alert.occurrences > 1) lines.push([w.occurrences, String(alert.occurrences)]);
  if (event === 'alert.resolved' && alert.resolvedAt) lines.push([w.resolvedAt, `${when(alert.resolvedAt, ctx.timezone)}${alert.resolution === 'auto' ? ` (${w.auto})` : alert.resolvedBy ? ` (${alert.resolvedBy})` : ''}`]);
  if (event === 'alert.acknowledged' && alert.acknowledgedBy) lines.push([w.by, alert.acknowledgedBy]);
  if (event === 'alert.assigned' && alert.assignee) lines.push([w.by, alert.assignee]);
  const step = ctx.step && ctx.step > 0 ? w.escalation.replace('{n}', String(ctx.step)) : null;
  const markdown = [
    `### ${title}`,
    ...(step ? [`**${step}**`] : []),
    ...lines.map(([k, v]) => `- ${k}: ${v}`),
    ...(link ? [`[${w.link}](${link})`] : []),
  ].join('\n');
  const text = [title, ...(step ? [step] : []), ...lines.map(([k, v]) => `${k}: ${v}`), ...(link ? [link] : [])].join('\n');
  return { event, alert, title, markdown, text, link };
}
