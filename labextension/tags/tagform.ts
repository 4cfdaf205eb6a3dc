/**
 * Tags of anything taggable (a dataset or file, a feature group, a training dataset): the
 * current values, and a form generated from a tag schema (required fields marked) whose
 * server-side violations (422) are shown next to each field. What is tagged is hidden behind
 * a small `ITagClient`, so every panel uses the same editor.
 */
import { api, EolabApiError, errorMessage, IDescribeTagSchema, IJsonSchema } from '../api';
import { clear, h, StatusLine } from '../dom';

type FieldReader = () => any;

/** Read and change the tags of one object. */
export interface ITagClient {
  get(): Promise<Record<string, any>>;
  set(schema: string, value: any): Promise<Record<string, any>>;
  remove(schema: string): Promise<void>;
}

/** The tags of a dataset or file (`dataset/path/in/it`). */
export function datasetTags(project: string, path: string): ITagClient {
  return {
    get: () => api.getTags(project, path),
    set: (schema, value) => api.setTag(project, path, schema, value),
    remove: schema => api.deleteTag(project, path, schema)
  };
}

/** The tags of a feature group version. */
export function featureGroupTags(project: string, name: string, version: number): ITagClient {
  return {
    get: () => api.featureGroupTags(project, name, version),
    set: (schema, value) => api.setFeatureGroupTag(project, name, version, schema, value),
    remove: schema => api.deleteFeatureGroupTag(project, name, version, schema)
  };
}

/** The tags of a training dataset version. */
export function trainingDatasetTags(project: string, name: string, version: number): ITagClient {
  return {
    get: () => api.trainingDatasetTags(project, name, version),
    set: (schema, value) => api.setTrainingDatasetTag(project, name, version, schema, value),
    remove: schema => api.deleteTrainingDatasetTag(project, name, version, schema)
  };
}

let editors = 0; // makes the form's element ids unique when several editors are on the page

function fieldType(schema: IJsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.enum) {
    return 'enum';
  }
  if (type === 'array') {
    return 'array';
  }
  return type || 'string';
}

/** One input for one schema property; returns the element and a reader of its value. */
function inputFor(name: string, schema: IJsonSchema, value: any, prefix: string): [HTMLElement, FieldReader] {
  const kind = fieldType(schema);
  const id = `${prefix}-${name}`;
  if (kind === 'boolean') {
    const box = h('input', { type: 'checkbox', id, name, checked: value === true });
    return [box, () => box.checked];
  }
  if (kind === 'enum') {
    const select = h('select', { id, name }, h('option', { value: '' }, '—'));
    for (const option of schema.enum || []) {
      select.appendChild(h('option', { value: JSON.stringify(option) }, String(option)));
    }
    if (value !== undefined) {
      select.value = JSON.stringify(value);
    }
    return [select, () => (select.value ? JSON.parse(select.value) : undefined)];
  }
  if (kind === 'number' || kind === 'integer') {
    const input = h('input', { type: 'number', id, name, step: kind === 'integer' ? 1 : 'any' });
    input.value = value === undefined ? '' : String(value);
    return [input, () => (input.value === '' ? undefined : Number(input.value))];
  }
  if (kind === 'array') {
    const input = h('input', { type: 'text', id, name, placeholder: 'comma-separated' });
    input.value = Array.isArray(value) ? value.join(', ') : '';
    const itemKind = schema.items ? fieldType(schema.items) : 'string';
    return [
      input,
      () =>
        input.value.trim() === ''
          ? undefined
          : input.value
              .split(',')
              .map(s => s.trim())
              .filter(s => s !== '')
              .map(s => (itemKind === 'number' || itemKind === 'integer' ? Number(s) : s))
    ];
  }
  if (kind === 'object') {
    const area = h('textarea', { id, name, rows: 3, placeholder: 'JSON' });
    area.value = value === undefined ? '' : JSON.stringify(value);
    return [area, () => (area.value.trim() === '' ? undefined : JSON.parse(area.value))];
  }
  const input = h('input', { type: 'text', id, name });
  input.value = value === undefined ? '' : String(value);
  return [input, () => (input.value === '' ? undefined : input.value)];
}

export class TagEditor {
  readonly node = h('div', { class: 'eolab-tags' });
  private readonly status = new StatusLine();
  private schemas: IDescribeTagSchema[] = [];
  private readonly prefix = `eolab-tag-field-${++editors}`;

  /** `emptyText` is shown when there is no tag yet. */
  constructor(
    private readonly client: ITagClient,
    private readonly emptyText = 'No tags.'
  ) {}

  async load(): Promise<void> {
    clear(this.node);
    this.node.appendChild(h('h4', {}, 'Tags'));
    this.node.appendChild(this.status.node);
    try {
      const [tags, schemas] = await Promise.all([this.client.get(), api.listTagSchemas()]);
      this.schemas = schemas;
      this.renderTags(tags);
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }

  private renderTags(tags: Record<string, any>): void {
    const list = h('dl', { class: 'eolab-tag-list' });
    for (const [schema, value] of Object.entries(tags)) {
      const edit = h('button', { class: 'jp-Button eolab-tag-edit', title: `Edit ${schema}` }, 'edit');
      const remove = h('button', { class: 'jp-Button eolab-tag-delete', title: `Delete ${schema}` }, '✕');
      edit.addEventListener('click', () => this.openForm(schema, value));
      remove.addEventListener('click', () => void this.remove(schema));
      list.appendChild(h('dt', {}, schema, ' ', edit, remove));
      list.appendChild(h('dd', { class: 'eolab-tag-value' }, JSON.stringify(value)));
    }
    if (!Object.keys(tags).length) {
      list.appendChild(h('dd', { class: 'eolab-empty' }, this.emptyText));
    }
    this.node.appendChild(list);
    if (this.schemas.length) {
      const select = h('select', { class: 'eolab-tag-schema', 'aria-label': 'Tag schema' });
      for (const schema of this.schemas) {
        select.appendChild(h('option', { value: schema.name }, schema.name));
      }
      const add = h('button', { class: 'jp-Button eolab-tag-add' }, 'Add tag');
      add.addEventListener('click', () => this.openForm(select.value, tags[select.value]));
      this.node.appendChild(h('div', { class: 'eolab-tag-new' }, select, add));
    } else {
      this.node.appendChild(h('p', { class: 'eolab-empty' }, 'No tag schemas yet (an admin creates them).'));
    }
  }

  /** A form generated from the schema; `value` pre-fills it. */
  openForm(schemaName: string, value: any = {}): void {
    const schema = this.schemas.find(s => s.name === schemaName);
    if (!schema) {
      return;
    }
    this.node.querySelector('.eolab-tag-form')?.remove();
    const form = h('form', { class: 'eolab-tag-form', 'data-schema': schemaName });
    form.appendChild(h('h5', {}, schemaName));
    const readers: Record<string, FieldReader> = {};
    const required = new Set(schema.schema.required || []);
    const properties = schema.schema.properties || {};
    for (const [name, prop] of Object.entries(properties)) {
      const [input, read] = inputFor(name, prop, value ? value[name] : undefined, this.prefix);
      readers[name] = read;
      const label = h(
        'label',
        { for: input.id, class: required.has(name) ? 'eolab-required' : '' },
        prop.title || name,
        required.has(name) ? h('span', { class: 'eolab-required-mark', title: 'required' }, ' *') : null
      );
      form.appendChild(
        h(
          'div',
          { class: 'eolab-tag-field', 'data-field': name },
          label,
          input,
          h('div', { class: 'eolab-field-error' })
        )
      );
    }
    const save = h('button', { type: 'submit', class: 'jp-Button eolab-tag-save' }, 'Save tag');
    const cancel = h('button', { type: 'button', class: 'jp-Button eolab-tag-cancel' }, 'Cancel');
    cancel.addEventListener('click', () => form.remove());
    form.appendChild(h('div', { class: 'eolab-form-error' }));
    form.appendChild(h('div', { class: 'eolab-form-actions' }, save, cancel));
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this.submit(form, schemaName, readers);
    });
    this.node.appendChild(form);
  }

  private async submit(form: HTMLFormElement, schema: string, readers: Record<string, FieldReader>) {
    form.querySelectorAll('.eolab-field-error, .eolab-form-error').forEach(e => (e.textContent = ''));
    const value: Record<string, any> = {};
    try {
      for (const [name, read] of Object.entries(readers)) {
        const v = read();
        if (v !== undefined) {
          value[name] = v;
        }
      }
    } catch (error) {
      form.querySelector('.eolab-form-error')!.textContent = errorMessage(error);
      return;
    }
    try {
      await this.client.set(schema, value);
      await this.load();
      this.status.info(`Tag ${schema} saved.`);
    } catch (error) {
      this.showViolations(form, error);
    }
  }

  private showViolations(form: HTMLFormElement, error: unknown): void {
    const general = form.querySelector('.eolab-form-error')!;
    general.textContent = errorMessage(error);
    if (error instanceof EolabApiError) {
      for (const violation of error.violations) {
        const top = String(violation.field).split('/')[0];
        const slot = form.querySelector(`.eolab-tag-field[data-field="${CSS.escape(top)}"] .eolab-field-error`);
        if (slot) {
          slot.textContent = violation.message;
        }
      }
    }
  }

  private async remove(schema: string): Promise<void> {
    try {
      await this.client.remove(schema);
      await this.load();
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }
}
