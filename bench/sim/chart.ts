/**
 * The timeline as an SVG written by hand: queued jobs (top) and live runners (bottom, instances of all pools)
 * over time, one line per strategy, the runner ceiling dashed. No dependency; opens in any browser.
 */
import type { TimelineSample } from './world-metrics.ts';

export interface ChartSeries {
  readonly name: string;
  readonly timeline: readonly TimelineSample[];
}

const palette = ['#d1495b', '#00798c', '#edae49', '#66a182', '#2e4057', '#8d96a3'];

export function timelineSvg(options: {
  readonly title: string;
  readonly series: readonly ChartSeries[];
  readonly maxRunners?: number;
  readonly width?: number;
}): string {
  const width = options.width ?? 960;
  const panelHeight = 200;
  const left = 56;
  const right = 16;
  const top = 48;
  const gap = 56;
  const height = top + 2 * panelHeight + gap + 48;
  const tMax = Math.max(60, ...options.series.flatMap((s) => s.timeline.map((p) => p.t)));
  const x = (t: number) => left + ((width - left - right) * t) / tMax;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="600">${escapeXml(options.title)}</text>`,
  );
  const panels: { label: string; pick: (p: TimelineSample) => number; ceiling?: number }[] = [
    { label: 'queued jobs', pick: (p) => p.queued },
    {
      label: 'runners (live instances)',
      pick: (p) => p.instances,
      ...(options.maxRunners !== undefined ? { ceiling: options.maxRunners } : {}),
    },
  ];
  panels.forEach((panel, index) => {
    const y0 = top + index * (panelHeight + gap);
    const values = options.series.flatMap((s) => s.timeline.map(panel.pick));
    const vMax = niceMax(Math.max(1, panel.ceiling ?? 0, ...values));
    const y = (v: number) => y0 + panelHeight - (panelHeight * v) / vMax;
    parts.push(`<text x="${left}" y="${y0 - 8}" font-weight="600">${escapeXml(panel.label)}</text>`);
    for (let i = 0; i <= 4; i += 1) {
      const v = (vMax * i) / 4;
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${formatNumber(v)}</text>`,
      );
    }
    const step = timeStep(tMax);
    for (let t = 0; t <= tMax; t += step) {
      parts.push(
        `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${y0}" y2="${y0 + panelHeight}" stroke="#f0f0f0"/>`,
        `<text x="${x(t).toFixed(1)}" y="${y0 + panelHeight + 14}" text-anchor="middle" fill="#555">${formatTime(t)}</text>`,
      );
    }
    if (panel.ceiling !== undefined) {
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(panel.ceiling).toFixed(1)}" y2="${y(panel.ceiling).toFixed(1)}" stroke="#999" stroke-dasharray="6 4"/>`,
        `<text x="${width - right}" y="${(y(panel.ceiling) - 4).toFixed(1)}" text-anchor="end" fill="#777">max ${panel.ceiling}</text>`,
      );
    }
    options.series.forEach((series, s) => {
      const points = series.timeline
        .map((p) => `${x(p.t).toFixed(1)},${y(panel.pick(p)).toFixed(1)}`)
        .join(' ');
      parts.push(
        `<polyline fill="none" stroke="${palette[s % palette.length]}" stroke-width="1.6" stroke-linejoin="round" points="${points}"/>`,
      );
    });
  });
  const legendY = height - 16;
  options.series.forEach((series, s) => {
    const lx = left + s * 180;
    parts.push(
      `<rect x="${lx}" y="${legendY - 10}" width="14" height="4" fill="${palette[s % palette.length]}"/>`,
      `<text x="${lx + 20}" y="${legendY - 4}">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push(
    `<text x="${width - right}" y="${legendY - 4}" text-anchor="end" fill="#777">simulated time (h:mm)</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

function timeStep(tMax: number): number {
  for (const step of [300, 600, 900, 1800, 3600, 7200]) if (tMax / step <= 12) return step;
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
