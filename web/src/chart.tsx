import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Small time-series charts drawn with uPlot (a canvas chart library of about 50 KB): a
 * sparkline of spend per minute and bars of spend per hour. Values are micros; `format`
 * turns one into the text of the axis and the tooltip.
 */

export interface ChartProps {
  /** Bucket start times, epoch milliseconds, oldest first. */
  times: readonly number[];
  values: readonly number[];
  /** What the chart shows, for screen readers. */
  label: string;
  format: (micros: number) => string;
  kind: 'line' | 'bars';
  height: number;
  /** Draw axes (a sparkline has none). */
  axes?: boolean;
}

const stroke = '#2f6fb3';
const fill = 'rgba(47, 111, 179, 0.18)';

function options(p: ChartProps, width: number): uPlot.Options {
  const axisStyle = { stroke: '#5b6675', grid: { stroke: '#eef1f5', width: 1 }, ticks: { show: false }, font: '11px system-ui, sans-serif' };
  return {
    width,
    height: p.height,
    legend: { show: false },
    cursor: { show: p.axes === true, drag: { x: false, y: false }, points: { show: p.kind === 'line' } },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: p.axes
      ? [
          { ...axisStyle, space: 60 },
          { ...axisStyle, size: 64, values: (_u, ticks) => ticks.map((t) => p.format(t)) },
        ]
      : [{ show: false }, { show: false }],
    series: [
      {},
      {
        label: 'spend',
        stroke,
        fill,
        width: p.kind === 'line' ? 1.5 : 0,
        points: { show: false },
        value: (_u, v) => (v === null ? '—' : p.format(v)),
        ...(p.kind === 'bars' ? { paths: uPlot.paths.bars?.({ size: [0.7, 40] }), fill: stroke } : {}),
      },
    ],
  };
}

function data(p: ChartProps): uPlot.AlignedData {
  return [p.times.map((t) => t / 1000), [...p.values]];
}

/** A chart that keeps its uPlot instance across updates and follows its container's width. */
export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(p, Math.max(100, el.clientWidth)), data(p), el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(100, el.clientWidth), height: p.height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The instance is built once per shape; data changes go through setData below.
  }, [p.kind, p.height, p.axes]);
  useEffect(() => {
    plot.current?.setData(data(p));
  }, [p.times, p.values]);
  return <div ref={box} class={`chart chart-${p.kind}`} role="img" aria-label={p.label} />;
}
