import { Form, Input, InputNumber, Select, Switch, type FormInstance } from 'antd';
import type { ReactNode } from 'react';
import { useI18n, type MessageKey } from '../../shared/i18n.js';

/**
 * A typed form described as data: each screen lists its fields, and one component renders them
 * with labels tied to their inputs (the console's accessibility rule) and converts values both
 * ways between the API's shapes and the form's (JSON as text, number lists as "5, 5, 10").
 */
export interface FieldSpec {
  /** dotted path into the API object, e.g. `limits.perDay` */
  name: string;
  label: MessageKey;
  kind?: 'text' | 'textarea' | 'number' | 'select' | 'tags' | 'switch' | 'json' | 'numbers' | 'custom';
  options?: Array<string | { value: string; label: string }>;
  required?: boolean;
  /** only when creating (codes, kinds: what the API does not let change) */
  createOnly?: boolean;
  /** only when editing (status) */
  editOnly?: boolean;
  /** an emptied field is sent as null when editing (the API clears it) */
  nullable?: boolean;
  help?: MessageKey;
  placeholder?: string;
  initial?: unknown;
  min?: number;
  /** kind custom: a controlled input; the form passes id, value and onChange */
  input?: ReactNode;
}

export type Mode = 'create' | 'edit';

const path = (f: FieldSpec) => f.name.split('.');

function getIn(obj: unknown, keys: string[]): unknown {
  return keys.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setIn(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]!] = value;
}

export function visible(fields: FieldSpec[], mode: Mode): FieldSpec[] {
  return fields.filter((f) => (mode === 'create' ? !f.editOnly : !f.createOnly));
}

/** An API object as form values. */
export function toForm(fields: FieldSpec[], row: unknown): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const f of fields) {
    const v = row === null ? undefined : getIn(row, path(f));
    let out: unknown = v ?? f.initial;
    if (f.kind === 'json') out = out === undefined || out === null ? '' : JSON.stringify(out, null, 2);
    else if (f.kind === 'numbers') out = Array.isArray(out) ? out.join(', ') : '';
    setIn(values, path(f), out);
  }
  return values;
}

/** Form values as the API object: empty fields left out (or null when cleared in an edit). */
export function fromForm(fields: FieldSpec[], values: Record<string, unknown>, mode: Mode): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of visible(fields, mode)) {
    let v = getIn(values, path(f));
    if (v === '' || v === undefined || v === null) {
      if (mode === 'edit' && f.nullable) setIn(body, path(f), null);
      continue;
    }
    if (f.kind === 'json') v = JSON.parse(String(v));
    else if (f.kind === 'numbers') v = String(v).split(',').map((x) => x.trim()).filter(Boolean).map(Number);
    setIn(body, path(f), v);
  }
  return body;
}

function control(f: FieldSpec, disabled: boolean): ReactNode {
  const options = (f.options ?? []).map((o) => (typeof o === 'string' ? { value: o, label: o } : o));
  switch (f.kind) {
    case 'textarea':
      return <Input.TextArea rows={3} disabled={disabled} />;
    case 'json':
      return <Input.TextArea rows={6} disabled={disabled} spellCheck={false} style={{ fontFamily: 'monospace', fontSize: 12 }} placeholder={f.placeholder} />;
    case 'number':
      return <InputNumber style={{ width: '100%' }} precision={0} min={f.min} disabled={disabled} />;
    case 'switch':
      return <Switch disabled={disabled} />;
    case 'tags':
      return <Select mode="tags" options={options} disabled={disabled} tokenSeparators={[',']} />;
    case 'select':
      // A native select: labelled by its <label>, and simple to drive from tests.
      return (
        <select className="ant-input" disabled={disabled} style={{ width: '100%' }}>
          {!f.required && <option value="">—</option>}
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      );
    case 'custom':
      return f.input;
    default:
      return <Input disabled={disabled} placeholder={f.placeholder} />;
  }
}

export function FieldsForm({ form, name, fields, mode, disabled = false }: { form: FormInstance; name: string; fields: FieldSpec[]; mode: Mode; disabled?: boolean }) {
  const { t } = useI18n();
  return (
    <Form form={form} name={name} layout="vertical" requiredMark={false} disabled={disabled}>
      {visible(fields, mode).map((f) => (
        <Form.Item
          key={f.name}
          name={path(f)}
          label={t(f.label)}
          tooltip={f.help ? t(f.help) : undefined}
          valuePropName={f.kind === 'switch' ? 'checked' : 'value'}
          rules={[
            ...(f.required ? [{ required: true, message: t('required') }] : []),
            ...(f.kind === 'json'
              ? [
                  {
                    validator: async (_: unknown, v: unknown) => {
                      if (v) JSON.parse(String(v));
                    },
                    message: t('invalidJson'),
                  },
                ]
              : []),
          ]}
        >
          {control(f, disabled)}
        </Form.Item>
      ))}
    </Form>
  );
}
