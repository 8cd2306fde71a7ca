// A grouped bar chart as SVG (server vs baseline req/s per workload), the webhook panel (delivery
// throughput and lag against their goals), and the PNG of either through the
// machine's Chromium (playwright-core cannot download a browser here; /usr/bin/chromium comes
// from `apt-get install chromium`, or set CHROMIUM_PATH).
import { existsSync } from 'node:fs';

export type ChartGroup = { label: string; server: number; baseline: number; target?: number };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg(title: string, subtitle: string, groups: ChartGroup[]): string {
  const width = 980;
  const height = 460;
  const left = 70;
  const right = 20;
  const top = 100;
  const bottom = 100;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...groups.flatMap((g) => [g.server, g.baseline]));
  const step = 10 ** Math.floor(Math.log10(max));
  const niceMax = Math.ceil((max * 1.15) / step) * step;
  const y = (v: number) => top + plotH - (v / niceMax) * plotH;
  const groupW = plotW / groups.length;
  const barW = Math.min(90, groupW / 3);
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="30" font-size="20" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="${left}" y="52" font-size="13" fill="#555">${esc(subtitle)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (niceMax / 5) * i;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`);
    parts.push(
      `<text x="${left - 8}" y="${y(v) + 4}" font-size="12" text-anchor="end" fill="#555">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<text x="18" y="${top + plotH / 2}" font-size="12" fill="#555" transform="rotate(-90 18 ${top + plotH / 2})" text-anchor="middle">requests per second (median)</text>`,
  );
  groups.forEach((g, i) => {
    const cx = left + groupW * i + groupW / 2;
    const bars = [
      { v: g.server, x: cx - barW - 3, color: '#2f6fdb' },
      { v: g.baseline, x: cx + 3, color: '#9aa5b1' },
    ];
    for (const b of bars) {
      parts.push(`<rect x="${b.x}" y="${y(b.v)}" width="${barW}" height="${top + plotH - y(b.v)}" fill="${b.color}"/>`);
      parts.push(
        `<text x="${b.x + barW / 2}" y="${y(b.v) - 5}" font-size="12" text-anchor="middle">${Math.round(b.v).toLocaleString('en-US')}</text>`,
      );
    }
    const ratio = g.baseline > 0 ? g.server / g.baseline : Number.NaN;
    const miss = g.target !== undefined && !(ratio >= g.target);
    parts.push(`<text x="${cx}" y="${top + plotH + 20}" font-size="13" text-anchor="middle">${esc(g.label)}</text>`);
    parts.push(
      `<text x="${cx}" y="${top + plotH + 40}" font-size="13" text-anchor="middle" font-weight="600" fill="${miss ? '#c0392b' : '#1e7b34'}">` +
        `${Number.isFinite(ratio) ? ratio.toFixed(2) : '–'}× baseline</text>`,
    );
    if (g.target !== undefined) {
      parts.push(`<text x="${cx}" y="${top + plotH + 58}" font-size="12" text-anchor="middle" fill="#555">target ≥ ${g.target}×</text>`);
    }
  });
  const lx = width - right - 300;
  parts.push(
    `<rect x="${lx}" y="${top - 36}" width="14" height="14" fill="#2f6fdb"/><text x="${lx + 20}" y="${top - 24}" font-size="13">server (Express + validator + Prisma)</text>`,
  );
  parts.push(
    `<rect x="${lx}" y="${top - 16}" width="14" height="14" fill="#9aa5b1"/><text x="${lx + 20}" y="${top - 4}" font-size="13">bare baseline (node:http + pg)</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">${parts.join('')}</svg>`;
}

export type WebhookChartData = {
  throughput: number;
  throughputGoal: number;
  lag: { p50: number; p99: number; max: number };
  lagGoalMs: number;
  lagLabel: string;
};

/** Two panels: delivery throughput against its goal, and the lag percentiles against theirs. */
export function webhookChartSvg(title: string, subtitle: string, data: WebhookChartData): string {
  const width = 980;
  const height = 400;
  const top = 90;
  const plotH = 220;
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="70" y="30" font-size="20" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="70" y="52" font-size="13" fill="#555">${esc(subtitle)}</text>`);
  const panel = (
    left: number,
    panelW: number,
    heading: string,
    bars: { label: string; v: number; color: string }[],
    goal: number,
    goalText: string,
    pass: boolean,
  ) => {
    const max = Math.max(goal, ...bars.map((b) => (Number.isFinite(b.v) ? b.v : 0)), 1);
    const step = 10 ** Math.floor(Math.log10(max));
    const niceMax = Math.ceil((max * 1.15) / step) * step;
    const y = (v: number) => top + plotH - (Math.max(0, v) / niceMax) * plotH;
    parts.push(`<text x="${left}" y="${top - 14}" font-size="14" font-weight="600">${esc(heading)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (niceMax / 4) * i;
      parts.push(`<line x1="${left}" x2="${left + panelW}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`);
      parts.push(
        `<text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#555">${Math.round(v).toLocaleString('en-US')}</text>`,
      );
    }
    const barW = Math.min(80, panelW / (bars.length * 2));
    bars.forEach((b, i) => {
      const x = left + (panelW / bars.length) * (i + 0.5) - barW / 2;
      // +Infinity: a lag whose delivery never came (bench/webhooks.ts): a full-height red bar.
      const undelivered = b.v === Number.POSITIVE_INFINITY;
      const v = undelivered ? niceMax : Number.isFinite(b.v) ? b.v : 0;
      const label = undelivered ? 'undelivered' : Number.isFinite(b.v) ? Math.round(b.v).toLocaleString('en-US') : '–';
      parts.push(`<rect x="${x}" y="${y(v)}" width="${barW}" height="${top + plotH - y(v)}" fill="${undelivered ? '#c0392b' : b.color}"/>`);
      parts.push(`<text x="${x + barW / 2}" y="${y(v) - 5}" font-size="12" text-anchor="middle">${label}</text>`);
      parts.push(`<text x="${x + barW / 2}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">${esc(b.label)}</text>`);
    });
    parts.push(
      `<line x1="${left}" x2="${left + panelW}" y1="${y(goal)}" y2="${y(goal)}" stroke="#c0392b" stroke-dasharray="6 4" stroke-width="1.5"/>`,
    );
    parts.push(`<text x="${left + panelW}" y="${y(goal) - 5}" font-size="11" text-anchor="end" fill="#c0392b">${esc(goalText)}</text>`);
    parts.push(
      `<text x="${left + panelW / 2}" y="${top + plotH + 42}" font-size="13" text-anchor="middle" font-weight="600" fill="${pass ? '#1e7b34' : '#c0392b'}">` +
        `${pass ? 'goal met' : 'goal missed'}</text>`,
    );
  };
  panel(
    80,
    260,
    'Throughput, 1 endpoint',
    [{ label: 'deliveries/s', v: data.throughput, color: '#2f6fdb' }],
    data.throughputGoal,
    `goal ≥ ${data.throughputGoal.toLocaleString('en-US')}/s`,
    data.throughput >= data.throughputGoal,
  );
  panel(
    460,
    480,
    `Event → delivery lag, ${data.lagLabel}`,
    [
      { label: 'p50 ms', v: data.lag.p50, color: '#9aa5b1' },
      { label: 'p99 ms', v: data.lag.p99, color: '#2f6fdb' },
      { label: 'max ms', v: data.lag.max, color: '#9aa5b1' },
    ],
    data.lagGoalMs,
    `goal p99 < ${data.lagGoalMs.toLocaleString('en-US')} ms`,
    data.lag.p99 < data.lagGoalMs,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">${parts.join('')}</svg>`;
}

/** SVG charts one above the other, as one SVG (one PNG for the report). */
export function stackSvgs(svgs: string[]): string {
  const sizes = svgs.map((svg) => {
    const m = /^<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"/.exec(svg);
    if (!m) throw new Error('stackSvgs: an SVG without width and height');
    return { w: Number(m[1]), h: Number(m[2]) };
  });
  const width = Math.max(...sizes.map((s) => s.w));
  let y = 0;
  const placed = svgs.map((svg, i) => {
    const out = svg.replace(/^<svg /, `<svg x="0" y="${y}" `);
    y += sizes[i]!.h;
    return out;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="DejaVu Sans, Arial, sans-serif">${placed.join('')}</svg>`;
}

export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** The SVG as a PNG, or undefined (with the reason) when no Chromium is installed. */
export async function svgToPng(svg: string): Promise<{ png?: Buffer; reason?: string }> {
  const executablePath = chromiumPath();
  if (!executablePath) return { reason: 'no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH)' };
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    // The outer SVG: a stacked chart nests one <svg> per panel.
    return { png: await page.locator('body > svg').screenshot() };
  } finally {
    await browser.close();
  }
}
