/**
 * Validation of one feature group version: its expectations with their rules, its validation
 * type, the last validation's status with success / warning / failure counts, the history of
 * validations (time, commit, status) and, for the chosen one, every rule's status, measured
 * value and message. Data from `…/expectations` and `…/validations` (Hopsworks' report shape).
 */
import {
  api,
  errorMessage,
  IDescribeExpectation,
  IDescribeValidation,
  IFeatureGroupExpectations,
  IValidationCounts,
  IValidationRule,
  ValidationStatus
} from '../api';
import { clear, h } from '../dom';
import { formatNumber, utcText } from './format';

const HISTORY = 20;

const TYPE_MEANING: Record<string, string> = {
  NONE: 'inserts are not validated',
  STRICT: 'an insert goes ahead only if every rule succeeds',
  WARNING: 'an insert goes ahead unless a rule fails (warnings pass)',
  ALL: 'every insert goes ahead; the result is recorded'
};

/** A coloured status pill: SUCCESS, WARNING or FAILURE. */
export function statusBadge(status: ValidationStatus): HTMLElement {
  return h('span', { class: `eolab-badge eolab-vstatus eolab-vstatus-${status.toLowerCase()}`, 'data-status': status }, status);
}

/** What a rule bounds, as a person reads it: '0 ≤ value ≤ 1', 'quantile 0.5 ≥ -30'... */
export function ruleBounds(rule: IValidationRule): string {
  const parts: string[] = [];
  const quantile = rule.name === 'HAS_APPROX_QUANTILE';
  const measured = quantile && rule.value !== null ? `quantile ${formatNumber(rule.value)}` : 'value';
  if (rule.min !== null && rule.max !== null) {
    parts.push(`${formatNumber(rule.min)} ≤ ${measured} ≤ ${formatNumber(rule.max)}`);
  } else if (rule.min !== null) {
    parts.push(`${measured} ≥ ${formatNumber(rule.min)}`);
  } else if (rule.max !== null) {
    parts.push(`${measured} ≤ ${formatNumber(rule.max)}`);
  } else if (rule.value !== null && !quantile) {
    parts.push(`value = ${formatNumber(rule.value)}`);
  }
  if (rule.pattern !== null) {
    parts.push(`pattern ${rule.pattern}`);
  }
  if (rule.acceptedType !== null) {
    parts.push(`type ${rule.acceptedType}`);
  }
  if (rule.legalValues !== null) {
    parts.push(`in {${rule.legalValues.map(v => JSON.stringify(v)).join(', ')}}`);
  }
  return parts.join(' · ');
}

function ruleItem(rule: IValidationRule): HTMLElement {
  return h(
    'li',
    { class: 'eolab-fs-rule', 'data-rule': rule.name },
    h('span', { class: 'eolab-fs-rule-name' }, rule.name),
    h('span', { class: `eolab-badge eolab-level-${rule.level.toLowerCase()}`, 'data-level': rule.level }, rule.level),
    h('span', { class: 'eolab-fs-rule-bounds' }, ruleBounds(rule))
  );
}

function expectationCard(e: IDescribeExpectation): HTMLElement {
  return h(
    'li',
    { class: 'eolab-fs-expectation', 'data-expectation': e.name },
    h(
      'div',
      { class: 'eolab-fs-expectation-head' },
      h('span', { class: 'eolab-fs-expectation-name' }, e.name),
      h('span', { class: 'eolab-meta' }, ` on ${e.features.join(', ') || 'the whole frame'}`)
    ),
    e.description ? h('div', { class: 'eolab-meta eolab-fs-expectation-description' }, e.description) : null,
    h('ul', { class: 'eolab-fs-rules' }, ...e.rules.map(ruleItem))
  );
}

/** The three counts, each coloured by its status. */
function counts(summary: IValidationCounts): HTMLElement {
  return h(
    'span',
    { class: 'eolab-fs-counts' },
    ...(['success', 'warning', 'failure'] as const).map(kind =>
      h('span', { class: `eolab-fs-count eolab-fs-count-${kind}`, 'data-kind': kind, 'data-count': summary[kind] }, `${summary[kind]} ${kind}`)
    )
  );
}

function outcome(v: IDescribeValidation): string {
  if (v.ingested === null) {
    return 'dry run';
  }
  return v.ingested ? 'inserted' : 'rejected';
}

function commitText(v: IDescribeValidation): string {
  return v.commitId === null ? 'no commit' : `commit ${v.commitId}`;
}

/** Every rule result of one report, grouped by expectation. */
function reportDetail(v: IDescribeValidation): HTMLElement {
  const node = h(
    'div',
    { class: 'eolab-fs-report', 'data-validation-id': v.validationId ?? '' },
    h(
      'div',
      { class: 'eolab-fs-report-head' },
      statusBadge(v.status),
      ` validation ${v.validationId ?? '(dry run)'} · ${utcText(v.validationTime)} · ${commitText(v)} · ${formatNumber(v.rowCount)} rows · ${outcome(v)}`,
      v.validationType ? ` (${v.validationType})` : ''
    )
  );
  for (const result of v.expectationResults) {
    node.appendChild(
      h('h5', { class: 'eolab-fs-report-expectation', 'data-expectation': result.expectation.name }, statusBadge(result.status), ' ', result.expectation.name)
    );
    node.appendChild(
      h(
        'ul',
        { class: 'eolab-fs-results' },
        ...result.results.map(r =>
          h(
            'li',
            { class: `eolab-fs-result eolab-fs-result-${r.status.toLowerCase()}`, 'data-rule': r.rule.name, 'data-status': r.status },
            h(
              'div',
              { class: 'eolab-fs-result-head' },
              statusBadge(r.status),
              h('span', { class: 'eolab-fs-result-rule', title: ruleBounds(r.rule) }, r.rule.name),
              h('span', { class: 'eolab-meta' }, r.features.join(', ')),
              h('span', { class: 'eolab-fs-result-value', 'data-value': r.value ?? '' }, `measured ${formatNumber(r.value)}`)
            ),
            h('div', { class: 'eolab-fs-result-message' }, r.message)
          )
        )
      )
    );
  }
  return node;
}

export class ValidationView {
  readonly node = h('div', { class: 'eolab-fs-validation-parts' });
  private readonly expectations = h('section', { class: 'eolab-fs-section eolab-fs-expectations' }, h('h4', {}, 'Expectations'));
  private readonly validations = h('section', { class: 'eolab-fs-section eolab-fs-validations' }, h('h4', {}, 'Validations'));
  private readonly expectationsBody = h('div', { class: 'eolab-fs-section-body' });
  private readonly validationsBody = h('div', { class: 'eolab-fs-section-body' });
  private reports: IDescribeValidation[] = [];
  private generation = 0;

  constructor() {
    this.expectations.appendChild(this.expectationsBody);
    this.validations.appendChild(this.validationsBody);
    this.node.appendChild(this.expectations);
    this.node.appendChild(this.validations);
  }

  async load(project: string, name: string, version: number): Promise<void> {
    const generation = ++this.generation;
    for (const body of [this.expectationsBody, this.validationsBody]) {
      clear(body);
      body.appendChild(h('div', { class: 'eolab-loading' }, 'Loading…'));
    }
    const [attached, history] = await Promise.allSettled([
      api.featureGroupExpectations(project, name, version),
      api.featureGroupValidations(project, name, version, HISTORY)
    ]);
    if (generation !== this.generation) {
      return;
    }
    clear(this.expectationsBody);
    if (attached.status === 'fulfilled') {
      this.renderExpectations(attached.value);
    } else {
      this.expectationsBody.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(attached.reason)));
    }
    clear(this.validationsBody);
    if (history.status === 'fulfilled') {
      this.reports = history.value;
      this.renderHistory(this.reports[0] || null);
    } else {
      this.validationsBody.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(history.reason)));
    }
  }

  private renderExpectations(attached: IFeatureGroupExpectations): void {
    const type = attached.validation_type;
    this.expectationsBody.appendChild(
      h(
        'div',
        { class: 'eolab-fs-validation-type' },
        'validation type ',
        h('span', { class: `eolab-badge eolab-badge-vtype`, 'data-type': type, title: TYPE_MEANING[type] || '' }, type),
        h('span', { class: 'eolab-meta' }, ` ${TYPE_MEANING[type] || ''}`)
      )
    );
    if (!attached.expectations.length) {
      this.expectationsBody.appendChild(
        h('div', { class: 'eolab-empty' }, 'No expectations attached (fg.attach_expectation(e), or expectations=[…] at creation).')
      );
      return;
    }
    this.expectationsBody.appendChild(h('ul', { class: 'eolab-fs-expectation-list' }, ...attached.expectations.map(expectationCard)));
  }

  private renderHistory(selected: IDescribeValidation | null): void {
    clear(this.validationsBody);
    const last = this.reports[0];
    if (!last) {
      this.validationsBody.appendChild(h('div', { class: 'eolab-empty' }, 'No validation yet: inserts are validated once expectations are attached.'));
      return;
    }
    this.validationsBody.appendChild(
      h(
        'div',
        { class: 'eolab-fs-last-validation' },
        h('span', { class: 'eolab-meta' }, 'last '),
        statusBadge(last.status),
        ' ',
        counts(last.summary),
        h('span', { class: 'eolab-meta' }, ` · ${utcText(last.validationTime)} · ${outcome(last)}`)
      )
    );
    const list = h('ol', { class: 'eolab-fs-validation-history' });
    for (const v of this.reports) {
      const chosen = selected !== null && v.validationId === selected.validationId;
      const item = h(
        'li',
        {
          class: `eolab-fs-validation-item${chosen ? ' eolab-selected' : ''}`,
          'data-validation-id': v.validationId ?? '',
          'data-status': v.status,
          tabindex: 0
        },
        statusBadge(v.status),
        h('span', { class: 'eolab-fs-validation-time' }, utcText(v.validationTime)),
        h('span', { class: 'eolab-meta eolab-fs-validation-commit' }, `${commitText(v)} · ${outcome(v)}`)
      );
      const open = () => this.renderHistory(v);
      item.addEventListener('click', open);
      item.addEventListener('keydown', event => {
        if (event.key === 'Enter') {
          open();
        }
      });
      list.appendChild(item);
    }
    this.validationsBody.appendChild(list);
    if (selected) {
      this.validationsBody.appendChild(reportDetail(selected));
    }
  }
}
