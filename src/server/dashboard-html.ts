import { formatAge } from '../cli/runs-table.js';
import { coverageCell } from '../coverage/coverage.js';
import type { UsageReport } from '../db/usage.js';
import { describeKeyRate, type KeyRate } from '../queue/key-rates.js';
import { BULL_BOARD_PATH } from './bull-board.js';
import { html, page, type SafeHtml } from './html.js';
import type { RunView } from './runs-view.js';
import type { UsageProjection } from './usage-projection.js';

export interface PanelData {
  runs: RunView[];
  usage: UsageReport;
  projected: UsageProjection;
  /** Each configured key's effective rate beside the plan's. */
  keyRates: KeyRate[];
}

/**
 * The runs page: the chart is drawn by the browser from /api/activity, the panel is this server's
 * HTML, refreshed in place. `loggedIn`: the server has a token, so the page offers to log out.
 */
export function dashboardPage(panel: PanelData, { loggedIn }: { loggedIn: boolean }): string {
  return page(
    'Runs',
    html`<header>
<h1>hashtag-archiver</h1>
<nav><a href="/runs" aria-current="page">Runs</a> <a href="${BULL_BOARD_PATH}">Queues</a> <a href="/metrics">Metrics</a></nav>
${loggedIn && html`<form class="logout" method="post" action="/logout"><button type="submit">Log out</button></form>`}
</header>
<main>
<p id="flash" role="status" hidden></p>
<section class="chart">
<h2>Last hour, per minute</h2>
<div id="activity-chart"></div>
<p id="activity-empty" class="muted" hidden>No requests in the last hour.</p>
</section>
<div id="panel">${panelHtml(panel)}</div>
</main>`,
    html`<link rel="stylesheet" href="/assets/uplot/uPlot.min.css">
<script src="/assets/uplot/uPlot.iife.min.js" defer></script>
<script src="/assets/dashboard.js" defer></script>`,
  );
}

export function panelHtml({ runs, usage, projected, keyRates }: PanelData): SafeHtml {
  return html`${usagePanel(usage, projected, keyRates)}
<section>
<h2>Runs</h2>
${runs.length === 0 ? html`<p>No runs yet: start one with <code>hashtag-archiver crawl &lt;hashtagId&gt;</code>.</p>` : runsTable(runs)}
</section>`;
}

function usagePanel(usage: UsageReport, projected: UsageProjection, keyRates: KeyRate[]): SafeHtml {
  const busiestToday = Math.max(0, ...usage.keys.map((key) => key.todayCredits));
  const dollars = (usd: number) => `$${usd.toFixed(2)}`;
  return html`<section class="usage">
<h2>Credits · ${usage.plan} plan</h2>
<dl>
<dt>Today</dt>
<dd>${usage.dailyCredits === null
    ? html`${count(usage.todayCredits)} credits (no daily cap)`
    : capUsage(busiestToday, usage.dailyCredits, html`${count(busiestToday)} of ${count(usage.dailyCredits)} on the busiest key (${count(usage.todayCredits)} across keys)`)}</dd>
<dt>This month</dt>
<dd>${capUsage(usage.monthCredits, usage.includedCredits, html`${count(usage.monthCredits)} of ${count(usage.includedCredits)} included credits${usage.uncertainCredits === 0 ? '' : html` (${count(usage.uncertainCredits)} uncertain: timed out, counted as billed)`}`)}</dd>
<dt>Overage</dt>
<dd>${usage.overageUsd === null ? 'none: this plan pauses crawls at its included credits' : `${dollars(usage.overageUsd)} so far`}</dd>
<dt>Projected</dt>
<dd>${count(projected.monthCredits)} credits this month at the pace so far${projected.overageUsd === null ? '' : `: ${dollars(projected.overageUsd)} overage`}</dd>
${keyRates.map((rate) => html`<dt>Pace ${rate.keyFingerprint}</dt>
<dd class="key-rate">${describeKeyRate(rate)}</dd>`)}
</dl>
</section>`;
}

/** Share of a cap from which a usage bar turns amber; at or past the cap it is red. */
const CAP_WARNING_SHARE = 0.8;

/**
 * A bar against a cap, then its words. A meter's own regions colour it (optimum low: green, then
 * amber from `low`, red from `high`); a value past the cap only fills the bar, so it is also said.
 */
function capUsage(value: number, cap: number, words: SafeHtml): SafeHtml {
  const state = value >= cap ? 'over' : value >= cap * CAP_WARNING_SHARE ? 'near' : 'under';
  const meter = html`<meter class="cap-${state}" value="${value}" min="0" max="${cap}" low="${cap * CAP_WARNING_SHARE}" high="${cap}" optimum="0"></meter>`;
  return html`${meter} ${words}${state === 'over' ? html` <strong class="over-cap">${value > cap ? 'past the cap' : 'at the cap'}</strong>` : ''}`;
}

function runsTable(runs: RunView[]): SafeHtml {
  return html`<table class="runs">
<thead><tr><th>Run</th><th>Hashtag</th><th>Status</th><th class="num">Pages</th><th class="num">Items</th><th class="num">New</th><th class="num">Credits</th><th class="num">Req/min</th><th class="num">ETA</th><th>Coverage</th><th>Last error</th><th></th></tr></thead>
<tbody>
${runs.map(runRow)}
</tbody>
</table>`;
}

function runRow(run: RunView): SafeHtml {
  return html`<tr data-run-id="${run.id}" data-status="${run.status}">
<td>#${run.id}</td>
<td>${run.hashtagName === null ? run.hashtagId : html`#${run.hashtagName} <span class="muted">${run.hashtagId}</span>`}</td>
<td><span class="status status-${run.status}">${run.status}</span>${run.stopReason !== null && html` <span class="muted">${run.stopReason}</span>`}</td>
<td class="num">${count(run.pages)}${run.maxPages !== null && html`<span class="muted">/${count(run.maxPages)}</span>`}</td>
<td class="num">${count(run.items)}</td>
<td class="num">${count(run.newItems)}</td>
<td class="num">${count(run.credits)}</td>
<td class="num">${run.requestsPerMin ?? '–'}</td>
<td class="num">${run.etaSeconds === null ? '–' : formatAge(run.etaSeconds * 1000)}</td>
<td class="coverage" title="${run.coverage?.explanation ?? ''}">${run.coverage === null ? '' : coverageCell(run.coverage)}</td>
<td class="${run.status === 'failed' ? 'note error' : 'note'}" title="${run.lastError ?? ''}">${run.lastError ?? ''}</td>
<td class="actions">${actionsFor(run)}</td>
</tr>`;
}

const count = (value: number) => value.toLocaleString('en-US');

/** Only the buttons run-control would accept for the run's status; the API still has the last word. */
function actionsFor(run: RunView): SafeHtml[] {
  const live = run.status === 'queued' || run.status === 'running';
  const actions: Array<[string, boolean]> = [
    ['pause', live],
    ['resume', run.status === 'failed' || run.status === 'paused' || run.status === 'cancelled'],
    ['cancel', live || run.status === 'paused'],
  ];
  return actions
    .filter(([, allowed]) => allowed)
    .map(([action]) => html`<button type="button" data-action="${action}" data-run="${run.id}">${action}</button>`);
}
