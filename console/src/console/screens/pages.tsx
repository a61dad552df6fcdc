import { Form, Select, Space } from 'antd';
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.js';
import { useList } from '../kit/context.js';
import type { FieldSpec } from '../kit/fields.js';
import { SingletonForm } from '../kit/SingletonForm.js';

interface PageConfig { channel: string; banners: unknown[]; itemOrder: string[] }
interface Item { id: string; name: string }

/** The channels most hosts have; a channel configured through the API under another code shows up too. */
const CHANNELS = ['app', 'mini_program', 'web'];

/** A channel's banners and the mall items it shows first (issue 9), one channel at a time. */
export function ChannelPages() {
  const { t } = useI18n();
  const configured = useList<PageConfig>('/pages').map((p) => p.channel);
  const items = useList<Item>('/mall/items?limit=100');
  const [channel, setChannel] = useState('app');
  const fields: FieldSpec[] = [
    { name: 'banners', label: 'banners', kind: 'json', required: true, initial: [], help: 'bannersHelp', placeholder: '[{ "imageUrl": "https://…", "title": "…", "sortOrder": 1 }]' },
    {
      name: 'itemOrder',
      label: 'itemOrder',
      kind: 'custom',
      initial: [],
      help: 'itemOrderHelp',
      // Selection order is the page order: antd keeps a multiple select's values in the order picked.
      input: <Select mode="multiple" options={items.map((i) => ({ value: i.id, label: `${i.name} (${i.id})` }))} optionFilterProp="label" />,
    },
  ];
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Form layout="inline">
        <Form.Item label={t('channel')} htmlFor="page-channel">
          <select id="page-channel" className="ant-input" value={channel} onChange={(e) => setChannel(e.target.value)} style={{ minWidth: 200 }}>
            {[...new Set([...CHANNELS, ...configured])].map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </Form.Item>
      </Form>
      <SingletonForm key={channel} title="channelPages" testId="channel-page" path={`/pages/${channel}`} fields={fields} />
    </Space>
  );
}
