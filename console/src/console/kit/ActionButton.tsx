import { Button, Form, Modal, Popconfirm } from 'antd';
import { useState } from 'react';
import { useI18n, type MessageKey } from '../../shared/i18n.js';
import { api } from '../client.js';
import { useCan, useWrite, type Scope } from './context.js';
import { FieldsForm, fromForm, toForm, type FieldSpec } from './fields.js';

/**
 * One write on one thing (ship an order, redeliver a webhook, revoke a key): a button, a
 * confirmation or a small form when the API wants input, hidden from those who may not.
 */
export function ActionButton(props: {
  label: MessageKey;
  /** what it acts on, for the button's accessible name ("Redeliver dlv_123") */
  target: string;
  method?: 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  /** below the program, e.g. `/mall/orders/ord_1/ship` */
  path: string;
  fields?: FieldSpec[];
  initial?: unknown;
  body?: Record<string, unknown>;
  confirm?: boolean;
  danger?: boolean;
  scope?: Scope;
  onDone?(result: any): void;
}) {
  const { t } = useI18n();
  const can = useCan(props.scope);
  const [form] = Form.useForm();
  const [open, setOpen] = useState(false);
  const write = useWrite((body: Record<string, unknown> | undefined, base) => api(props.method ?? 'POST', `${base}${props.path}`, { ...(body ? { body } : {}), idempotent: true }), {
    success: 'done',
    onSuccess: (result) => {
      setOpen(false);
      props.onDone?.(result);
    },
  });
  if (!can) return null;
  const name = `${t(props.label)} ${props.target}`;
  const fields = props.fields;
  const button = (onClick?: () => void) => (
    <Button size="small" danger={props.danger} loading={write.isPending} onClick={onClick} aria-label={name}>
      {t(props.label)}
    </Button>
  );
  if (fields) {
    return (
      <>
        {button(() => {
          form.resetFields();
          form.setFieldsValue(toForm(fields, props.initial ?? null));
          setOpen(true);
        })}
        <Modal
          open={open}
          title={name}
          okText={t('submit')}
          confirmLoading={write.isPending}
          onCancel={() => setOpen(false)}
          onOk={async () => write.mutate({ ...props.body, ...fromForm(fields, await form.validateFields(), 'create') })}
        >
          <FieldsForm form={form} name={`action-${props.label}`} fields={fields} mode="create" />
        </Modal>
      </>
    );
  }
  if (props.confirm) {
    return (
      <Popconfirm title={`${name}?`} okText={t('yes')} cancelText={t('no')} onConfirm={() => write.mutate(props.body)}>
        {button()}
      </Popconfirm>
    );
  }
  return button(() => write.mutate(props.body));
}
