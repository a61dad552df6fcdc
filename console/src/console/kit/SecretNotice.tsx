import { Modal, Typography } from 'antd';
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.js';

/** A secret the API shows once (a webhook's signing secret, an API key): shown until dismissed. */
export function useSecretNotice(): { show(secret: string): void; notice: JSX.Element } {
  const { t } = useI18n();
  const [secret, setSecret] = useState<string | null>(null);
  return {
    show: setSecret,
    notice: (
      <Modal open={secret !== null} title={t('secretOnce')} onOk={() => setSecret(null)} onCancel={() => setSecret(null)} cancelButtonProps={{ style: { display: 'none' } }}>
        <Typography.Paragraph>{t('secretOnceHelp')}</Typography.Paragraph>
        <Typography.Paragraph copyable code data-testid="secret">
          {secret}
        </Typography.Paragraph>
      </Modal>
    ),
  };
}
