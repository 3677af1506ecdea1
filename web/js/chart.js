// One uPlot chart per metric, drawn from the bucketed telemetry API. uPlot is served by the
// gateway from node_modules (/vendor/uplot/), nothing is fetched from the internet.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { lang } from './i18n.js';
import { fmtNumber } from './format.js';

const ZH_NAMES = {
  MMMM: ['一月', '二月', '三月', '四月', '五月', '六月', '七月', '八月', '九月', '十月', '十一月', '十二月'],
  MMM: ['1月', '2月', '3月', '4月', '5月', '6月', '7月', '8月', '9月', '10月', '11月', '12月'],
  WWWW: ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'],
  WWW: ['周日', '周一', '周二', '周三', '周四', '周五', '周六'],
};

const HEIGHT = 200;
const STROKE = '#0b5cad';

/**
 * points: [{ts: ISO, value: number}] oldest first; range: [fromMs, toMs] so a sparse series
 * still spans the whole period; bars for consumption (delta) buckets.
 */
export function drawChart(target, { points, range, label, bars = false, band }) {
  const xs = points.map((p) => Date.parse(p.ts) / 1000);
  const ys = points.map((p) => (typeof p.value === 'number' ? p.value : null));
  const opts = {
    width: Math.max(240, target.clientWidth),
    height: HEIGHT,
    ...(lang() === 'zh' ? { fmtDate: (tpl) => uPlot.fmtDate(tpl, ZH_NAMES) } : {}),
    scales: { x: { time: true, range: () => [range[0] / 1000, range[1] / 1000] } },
    series: [
      {},
      bars
        ? { label, stroke: STROKE, fill: 'rgba(11, 92, 173, 0.55)', width: 1, paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false }, value: (_u, v) => (v === null ? '–' : fmtNumber(v)) }
        : { label, stroke: STROKE, fill: 'rgba(11, 92, 173, 0.10)', width: 2, spanGaps: false, value: (_u, v) => (v === null ? '–' : fmtNumber(v)) },
    ],
    axes: [
      { stroke: '#333', grid: { stroke: '#e3e6ea' }, ticks: { stroke: '#c4c9cf' } },
      { stroke: '#333', grid: { stroke: '#e3e6ea' }, ticks: { stroke: '#c4c9cf' }, size: 56, values: (_u, splits) => splits.map((v) => fmtNumber(v)) },
    ],
    cursor: { drag: { x: false, y: false } },
    // the limits (e.g. pH 6.5–8.5): the allowed band shaded, its edges dashed
    hooks: band ? { drawClear: [(u) => drawBand(u, band)] } : {},
  };
  return new uPlot(opts, [xs, ys], target);
}

function drawBand(u, band) {
  const { ctx, bbox } = u;
  const y = (v) => u.valToPos(v, 'y', true);
  const top = band.max !== undefined ? Math.max(bbox.top, y(band.max)) : bbox.top;
  const bottom = band.min !== undefined ? Math.min(bbox.top + bbox.height, y(band.min)) : bbox.top + bbox.height;
  ctx.save();
  ctx.fillStyle = 'rgba(46, 125, 50, 0.08)';
  if (bottom > top) ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
  ctx.strokeStyle = '#b3261e';
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1;
  for (const v of [band.min, band.max]) {
    if (v === undefined) continue;
    const py = y(v);
    if (py < bbox.top || py > bbox.top + bbox.height) continue;
    ctx.beginPath();
    ctx.moveTo(bbox.left, py);
    ctx.lineTo(bbox.left + bbox.width, py);
    ctx.stroke();
  }
  ctx.restore();
}

/** Keeps every chart in a container as wide as its box. */
export function autoResize(container, plots) {
  const ro = new ResizeObserver(() => {
    for (const { plot, el } of plots()) {
      const width = Math.max(240, el.clientWidth);
      if (Math.abs(plot.width - width) > 1) plot.setSize({ width, height: HEIGHT });
    }
  });
  ro.observe(container);
  return () => ro.disconnect();
}
