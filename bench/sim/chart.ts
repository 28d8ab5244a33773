/**
 * One workload's timelines as an SVG written by hand: a row per strategy, queued jobs on the left and live
 * runners (instances of all pools, the runner ceiling dashed) on the right, on shared axes so rows compare at
 * a glance — overlaid lines of four or more strategies would hide each other. No dependency; opens in any
 * browser.
 */
import type { TimelineSample } from './world-metrics.ts';

export interface ChartSeries {
  readonly name: string;
  readonly timeline: readonly TimelineSample[];
}

const palette = ['#d1495b', '#00798c', '#edae49', '#66a182', '#2e4057', '#8d96a3'];

interface Panel {
  readonly label: string;
  readonly pick: (sample: TimelineSample) => number;
  readonly ceiling?: number;
}

export function timelineSvg(options: {
  readonly title: string;
  readonly series: readonly ChartSeries[];
  readonly maxRunners?: number;
  readonly width?: number;
}): string {
  const width = options.width ?? 960;
  const left = 56;
  const right = 16;
  const top = 64;
  const rowHeight = 120;
  const rowGap = 40;
  const panelGap = 56;
  const panelWidth = (width - left - right - panelGap) / 2;
  const rows = Math.max(1, options.series.length);
  const height = top + rows * (rowHeight + rowGap) + 16;
  const tMax = Math.max(60, ...options.series.flatMap((s) => s.timeline.map((p) => p.t)));
  const panels: Panel[] = [
    { label: 'queued jobs', pick: (p) => p.queued },
    {
      label: 'live runners',
      pick: (p) => p.instances,
      ...(options.maxRunners !== undefined ? { ceiling: options.maxRunners } : {}),
    },
  ];
  // One scale per kind of panel, shared by every strategy's row.
  const vMaxOf = (panel: Panel) =>
    niceMax(Math.max(1, panel.ceiling ?? 0, ...options.series.flatMap((s) => s.timeline.map(panel.pick))));
  const vMax = panels.map(vMaxOf);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="600">${escapeXml(options.title)}</text>`,
    `<text x="${left}" y="44" fill="#555">queued jobs (left) and live runners (right) over simulated time (h:mm), one row per strategy</text>`,
  ];
  options.series.forEach((series, row) => {
    const y0 = top + row * (rowHeight + rowGap) + 16;
    const color = palette[row % palette.length] as string;
    parts.push(
      `<text x="${left}" y="${y0 - 6}" font-weight="600" fill="${color}">${escapeXml(series.name)}</text>`,
    );
    panels.forEach((panel, index) => {
      const x0 = left + index * (panelWidth + panelGap);
      const scaleTop = vMax[index] ?? 1;
      const x = (t: number) => x0 + (panelWidth * t) / tMax;
      const y = (v: number) => y0 + rowHeight - (rowHeight * v) / scaleTop;
      parts.push(
        `<text x="${x0 + panelWidth}" y="${y0 - 6}" text-anchor="end" fill="#777">${escapeXml(panel.label)}</text>`,
      );
      for (let i = 0; i <= 2; i += 1) {
        const v = (scaleTop * i) / 2;
        parts.push(
          `<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
          `<text x="${x0 - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${formatNumber(v)}</text>`,
        );
      }
      const step = timeStep(tMax);
      for (let t = 0; t <= tMax; t += step) {
        parts.push(
          `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${y0}" y2="${y0 + rowHeight}" stroke="#f0f0f0"/>`,
          `<text x="${x(t).toFixed(1)}" y="${y0 + rowHeight + 14}" text-anchor="middle" fill="#555">${formatTime(t)}</text>`,
        );
      }
      if (panel.ceiling !== undefined) {
        parts.push(
          `<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y(panel.ceiling).toFixed(1)}" y2="${y(panel.ceiling).toFixed(1)}" stroke="#999" stroke-dasharray="6 4"/>`,
          `<text x="${x0 + panelWidth}" y="${(y(panel.ceiling) - 4).toFixed(1)}" text-anchor="end" fill="#777">max ${panel.ceiling}</text>`,
        );
      }
      const points = series.timeline
        .map((p) => `${x(p.t).toFixed(1)},${y(panel.pick(p)).toFixed(1)}`)
        .join(' ');
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round" points="${points}"/>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

function timeStep(tMax: number): number {
  for (const step of [300, 600, 900, 1800, 3600, 7200]) if (tMax / step <= 8) return step;
  return 14_400;
}

function formatTime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
