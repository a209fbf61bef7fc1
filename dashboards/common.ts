// Shared pieces of every bench dashboard: the datasource, panel builders with the house defaults
// (legend on, shared tooltip, units), the fault annotation, and the final pass that numbers panels.
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
  type RowPanel,
  type Threshold,
  type ValueMapping,
  MappingType,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
  BigValueGraphMode,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { addMatcher } from './promql.ts';

/** The uid every panel's datasource refers to; provisioning/datasources/bench.yaml creates it. */
export const DATASOURCE_UID = 'bench-prometheus';
/** The datasource reference every panel, target, variable and annotation carries. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: DATASOURCE_UID };
/** The tag every bench dashboard carries; the dashboards link to each other through it. */
export const TAG = 'bench';
/** Grafana's rate window: at least four scrape intervals, whatever the zoom. */
export const RATE = '$__rate_interval';
/**
 * Added to every series selector: one Prometheus may hold several runs, each target carries a
 * `run` label, and the $run variable picks one ("All" also matches series without the label,
 * such as k6 remote-write series pushed without a run tag).
 */
export const RUN_MATCHER = 'run=~"$run"';
/** An expression as the dashboards send it: scoped to the selected run(s). */
export const scoped = (expr: string): string => addMatcher(expr, RUN_MATCHER);

/** One PromQL query of a panel. */
export interface Query {
  expr: string;
  legend?: string;
}

function targets(queries: Query[]): DataqueryBuilder[] {
  return queries.map((q, i) => {
    const t = new DataqueryBuilder()
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE)
      .expr(scoped(q.expr))
      .range();
    if (q.legend) t.legendFormat(q.legend);
    return t;
  });
}

interface PanelOptions {
  title: string;
  description?: string;
  /** a Grafana unit id: reqps, s, percentunit, short, bytes, ... */
  unit: string;
  queries: Query[];
  /** grid width, of 24 */
  w?: number;
  h?: number;
}

/** A time series panel: legend as a table with mean and max, shared tooltip, lines from zero. */
export function timeseries(o: PanelOptions & { stack?: boolean; min?: number; max?: number }): TimeseriesBuilder {
  const p = new TimeseriesBuilder()
    .title(o.title)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .targets(targets(o.queries))
    .span(o.w ?? 12)
    .height(o.h ?? 8)
    .lineWidth(1)
    .fillOpacity(o.stack ? 35 : 8)
    .min(o.min ?? 0)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .calcs(['mean', 'max', 'lastNotNull']),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
  if (o.max !== undefined) p.max(o.max);
  if (o.description) p.description(o.description);
  if (o.stack) p.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  return p;
}

/** A single figure over the dashboard's time range, coloured by thresholds. */
export function stat(o: PanelOptions & { thresholds?: Threshold[]; decimals?: number }): StatBuilder {
  const p = new StatBuilder()
    .title(o.title)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .targets(targets(o.queries))
    .span(o.w ?? 4)
    .height(o.h ?? 4)
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(
      new ThresholdsConfigBuilder()
        .mode(ThresholdsMode.Absolute)
        .steps(o.thresholds ?? [{ value: null, color: 'green' }]),
    );
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.description) p.description(o.description);
  return p;
}

/** Value mappings for a 0/1 series: what 0 and 1 mean, in colour. */
export function onOff(off: { text: string; color: string }, on: { text: string; color: string }): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: { '0': { text: off.text, color: off.color, index: 0 }, '1': { text: on.text, color: on.color, index: 1 } },
    },
  ];
}

/** A state timeline: one lane per series, coloured by value mappings (up/down, fault on/off). */
export function stateTimeline(o: PanelOptions & { mappings: ValueMapping[] }): StateTimelineBuilder {
  const p = new StateTimelineBuilder()
    .title(o.title)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .targets(targets(o.queries))
    .span(o.w ?? 24)
    .height(o.h ?? 6)
    .mappings(o.mappings)
    .fillOpacity(80)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom));
  if (o.description) p.description(o.description);
  return p;
}

/** Fault windows as annotation regions, from the harness's bench_fault_active gauge (1 during a fault). */
export function faultAnnotation(): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .name('Faults')
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor('red')
    .expr(scoped('max by (fault, target) (bench_fault_active) > 0'))
    .titleFormat('fault: {{fault}}')
    .textFormat('{{fault}} on {{target}}')
    .tagKeys('fault,target')
    .step('5s')
    .useValueForTime(false);
}

/** A template variable over a label's values, multi-select with an "All" that matches anything. */
export function labelVariable(name: string, metric: string, label = name): QueryVariableBuilder {
  const query = `label_values(${name === 'run' ? metric : scoped(metric)}, ${name})`;
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

/** A dashboard with the bench defaults: last 15 minutes, 5 s refresh, crosshair shared, fault annotation, links. */
export function benchDashboard(o: { uid: string; title: string; description: string; tags: string[] }): DashboardBuilder {
  return new DashboardBuilder(o.title)
    .uid(o.uid)
    .description(o.description)
    .tags([TAG, ...o.tags])
    .timezone('browser')
    .time({ from: 'now-15m', to: 'now' })
    .refresh('5s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .withVariable(labelVariable('run', 'up', 'run'))
    .annotation(faultAnnotation())
    .link(
      new DashboardLinkBuilder('bench dashboards')
        .type(DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true),
    );
}

/** A row header. */
export const row = (title: string): RowBuilder => new RowBuilder(title);

/**
 * Builds the dashboard and numbers every panel (rows included) from 1 in order, so ids are
 * unique and stable; the SDK leaves ids to the caller.
 */
export function finalize(builder: DashboardBuilder): Dashboard {
  const d = builder.build();
  let id = 1;
  const number = (panels: Array<Panel | RowPanel>) => {
    for (const p of panels) {
      p.id = id++;
      if (p.type === 'row') number((p as RowPanel).panels ?? []);
    }
  };
  number(d.panels ?? []);
  return d;
}
