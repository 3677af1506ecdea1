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
export function drawChart(target, { points, range, label, bars = false }) {
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
  };
  return new uPlot(opts, [xs, ys], target);
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
