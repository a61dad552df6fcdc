import { useI18n } from '../shared/i18n.js';

export interface StagePrize { id: string; name: string; probability: number }

/** Where the draw stands: idle, playing (the animation runs), or showing what came out. */
export type Phase = { kind: 'idle' } | { kind: 'playing'; prizeId: string | null } | { kind: 'shown'; prizeId: string | null };

const SLICE_COLOURS = ['#2f6f4f', '#d4a72c', '#4f9a72', '#c0392b', '#7aa889', '#8e6bbf', '#3a7bd5', '#e67e22'];
/** How long each animation takes; the result is announced when it ends. */
export const ANIMATION_MS = 1600;

/**
 * The draw's animation, matching its presentation type, landing on the prize the server drew
 * (the outcome is decided by the API before anything moves; the animation only shows it).
 */
export function DrawStage({ presentation, prizes, phase }: { presentation: string; prizes: StagePrize[]; phase: Phase }) {
  switch (presentation) {
    case 'wheel':
      return <Wheel prizes={prizes} phase={phase} />;
    case 'scratch':
      return <Scratch prizes={prizes} phase={phase} />;
    case 'slot':
      return <Slot prizes={prizes} phase={phase} />;
    default:
      return <BlindBox prizes={prizes} phase={phase} />;
  }
}

const wonName = (prizes: StagePrize[], phase: Phase) => (phase.kind === 'idle' ? null : (prizes.find((p) => p.id === phase.prizeId)?.name ?? '…'));

/** Slices sized by odds; the wheel turns five times and stops with the drawn slice under the pointer. */
function Wheel({ prizes, phase }: { prizes: StagePrize[]; phase: Phase }) {
  const total = prizes.reduce((a, p) => a + p.probability, 0);
  let start = 0;
  // A prize that cannot be drawn gets no slice; equal slices only when no odds are published.
  const slices = prizes.map((p, i) => {
    const sweep = total > 0 ? (p.probability / total) * 360 : 360 / prizes.length;
    const slice = { ...p, start, sweep, colour: SLICE_COLOURS[i % SLICE_COLOURS.length]! };
    start += sweep;
    return slice;
  });
  const won = slices.find((s) => phase.kind !== 'idle' && s.id === phase.prizeId);
  const rotation = phase.kind === 'idle' ? 0 : 5 * 360 + (360 - (won ? won.start + won.sweep / 2 : 0));
  const point = (deg: number, r = 90) => [100 + r * Math.sin((deg * Math.PI) / 180), 100 - r * Math.cos((deg * Math.PI) / 180)] as const;
  return (
    <div className="stage" data-presentation="wheel" aria-hidden="true">
      <svg viewBox="0 0 200 210" width={220} height={230}>
        <g className="wheel-disc" style={{ transform: `rotate(${rotation}deg)`, transition: phase.kind === 'idle' ? 'none' : `transform ${ANIMATION_MS}ms cubic-bezier(.17,.67,.21,1)` }}>
          {slices.filter((s) => s.sweep > 0).map((s) => {
            const [x1, y1] = point(s.start);
            const [x2, y2] = point(s.start + s.sweep);
            const [tx, ty] = point(s.start + s.sweep / 2, 58);
            const d = s.sweep >= 359.9 ? 'M100,10 A90,90 0 1,1 99.99,10 Z' : `M100,100 L${x1},${y1} A90,90 0 ${s.sweep > 180 ? 1 : 0},1 ${x2},${y2} Z`;
            return (
              <g key={s.id}>
                <path d={d} fill={s.colour} stroke="#fff" strokeWidth={2} />
                <text x={tx} y={ty} fill="#fff" fontSize={10} textAnchor="middle" dominantBaseline="middle" transform={`rotate(${s.start + s.sweep / 2} ${tx} ${ty})`}>
                  {s.name.slice(0, 12)}
                </text>
              </g>
            );
          })}
          <circle cx={100} cy={100} r={14} fill="#fff" />
        </g>
        <path d="M92,0 L108,0 L100,18 Z" fill="#333" />
      </svg>
    </div>
  );
}

/** A silver coating wiped off, left to right, over the prize. */
function Scratch({ prizes, phase }: { prizes: StagePrize[]; phase: Phase }) {
  const { t } = useI18n();
  return (
    <div className="stage" data-presentation="scratch" aria-hidden="true">
      <div className="scratch-card">
        <div className="scratch-prize">{wonName(prizes, phase) ?? '?'}</div>
        <div className={`scratch-coat ${phase.kind === 'idle' ? '' : 'wiped'}`} style={{ animationDuration: `${ANIMATION_MS}ms` }}>
          {t('scratchHere')}
        </div>
      </div>
    </div>
  );
}

/** A box that shakes, then its lid flies off and the prize rises out. */
function BlindBox({ prizes, phase }: { prizes: StagePrize[]; phase: Phase }) {
  return (
    <div className="stage" data-presentation="blind_box" aria-hidden="true">
      <div className={`box ${phase.kind}`} style={{ ['--ms' as string]: `${ANIMATION_MS}ms` }}>
        <div className="box-prize">{wonName(prizes, phase)}</div>
        <div className="box-lid" />
        <div className="box-body">?</div>
      </div>
    </div>
  );
}

/** Three reels of prize names rolling, each stopping a little later on the drawn prize. */
function Slot({ prizes, phase }: { prizes: StagePrize[]; phase: Phase }) {
  const names = prizes.map((p) => p.name);
  const index = Math.max(0, prizes.findIndex((p) => phase.kind !== 'idle' && p.id === phase.prizeId));
  const strip = Array.from({ length: 6 }, () => names).flat();
  const stop = (5 * names.length + index) * 40;
  return (
    <div className="stage slot" data-presentation="slot" aria-hidden="true">
      {[0, 1, 2].map((reel) => (
        <div className="reel" key={reel}>
          <div className="reel-strip" style={{ transform: `translateY(-${phase.kind === 'idle' ? 0 : stop}px)`, transition: phase.kind === 'idle' ? 'none' : `transform ${ANIMATION_MS - (2 - reel) * 250}ms cubic-bezier(.2,.7,.2,1)` }}>
            {strip.map((n, i) => (
              <div key={i} className="reel-cell">
                {n}
              </div>
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}
