import { useI18n } from './i18n.js';

export interface CalendarDay {
  date: string;
  status: 'checked' | 'made_up' | 'missed' | 'today' | 'upcoming' | 'not_joined';
  streak: number | null;
  rewards: Array<{ pointType: string; amount: number }>;
}

const COLORS: Record<CalendarDay['status'], string> = {
  checked: '#2f6f4f',
  made_up: '#7aa889',
  missed: '#f0d5d5',
  today: '#fff4cc',
  upcoming: '#f5f5f5',
  not_joined: '#fafafa',
};

/** A month as a 7-column grid, Monday first; each day coloured by its status. */
export function CheckinCalendar({ month, days }: { month: string; days: CalendarDay[] }) {
  const { lang } = useI18n();
  const first = days[0] ? new Date(`${days[0].date}T00:00:00Z`).getUTCDay() : 1;
  const offset = (first + 6) % 7;
  const names = lang === 'zh' ? ['一', '二', '三', '四', '五', '六', '日'] : ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'];
  return (
    <div data-testid="checkin-calendar" aria-label={month}>
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(7, 1fr)', gap: 4, textAlign: 'center' }}>
        {names.map((n) => (
          <div key={n} style={{ fontSize: 12, color: '#888' }}>
            {n}
          </div>
        ))}
        {Array.from({ length: offset }, (_, i) => (
          <div key={`pad-${i}`} />
        ))}
        {days.map((d) => (
          <div
            key={d.date}
            data-status={d.status}
            title={`${d.date} ${d.status}${d.rewards.length ? ` +${d.rewards.map((r) => `${r.amount} ${r.pointType}`).join(', ')}` : ''}`}
            style={{ background: COLORS[d.status], color: d.status === 'checked' ? '#fff' : '#333', borderRadius: 6, padding: '6px 0', fontSize: 13, border: d.status === 'today' ? '1px solid #d4a72c' : 'none' }}
          >
            {Number(d.date.slice(8))}
          </div>
        ))}
      </div>
    </div>
  );
}
